import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { createDatabase, type Database, type DatabaseOptions } from '@wicket/db';
import pg from 'pg';
import { pgliteTemplatePath, templateDatabaseName, testBackend } from './backend.ts';

export interface TestDatabase {
  database: Database;
  /** Connection string of this test's own PostgreSQL database (postgres backend only). */
  url?: string;
  /** Open another Database handle on the same data (a second server instance; postgres only). */
  open(): Promise<Database>;
  drop(): Promise<void>;
}

/** A fresh, migrated database of its own for one test file, on the backend this run targets. */
export async function createTestDatabase(options: Pick<DatabaseOptions, 'log' | 'idleTimeoutMs'> = {}): Promise<TestDatabase> {
  if (testBackend() === 'postgres') {
    const base = process.env.TEST_DATABASE_URL!;
    const name = `wicket_t_${process.pid}_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: base });
    await admin.connect();
    await admin.query(`create database ${name} template ${templateDatabaseName()}`);
    await admin.end();
    const u = new URL(base);
    u.pathname = `/${name}`;
    const url = u.toString();
    const database = await createDatabase({ url, log: options.log, idleTimeoutMs: options.idleTimeoutMs });
    const extra: Database[] = [];
    return {
      database,
      url,
      async open() {
        const d = await createDatabase({ url });
        extra.push(d);
        return d;
      },
      async drop() {
        for (const d of extra) await d.close().catch(() => {});
        await database.close().catch(() => {});
        const a = new pg.Client({ connectionString: base });
        await a.connect();
        await a.query(`drop database if exists ${name} with (force)`).catch(() => {});
        await a.end();
      },
    };
  }
  const dump = new Blob([readFileSync(pgliteTemplatePath())]);
  const instance = await PGlite.create({ loadDataDir: dump, extensions: { pg_trgm } });
  const database = await createDatabase({ pglite: instance, log: options.log });
  return {
    database,
    async open() {
      throw new Error('a second handle on one PGlite database is not possible; this test needs TEST_DATABASE_URL');
    },
    async drop() {
      await database.close();
      await instance.close();
    },
  };
}
