import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { createDatabase, migrateToLatest } from '@wicket/db';
import pg from 'pg';
import { templateDatabaseName, testBackend, pgliteTemplatePath } from './backend.ts';

// Migrate once into a template; every test file then gets its own database copied from it.
export default async function setup(): Promise<void> {
  if (testBackend() === 'postgres') {
    const url = process.env.TEST_DATABASE_URL!;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      const name = templateDatabaseName();
      await admin.query(`drop database if exists ${name} with (force)`);
      await admin.query(`create database ${name}`);
      const u = new URL(url);
      u.pathname = `/${name}`;
      const database = await createDatabase({ url: u.toString() });
      await migrateToLatest(database.db);
      await database.close();
      // Leftover per-file databases from an interrupted run.
      const { rows } = await admin.query(`select datname from pg_database where datname like 'wicket_t\\_%'`);
      for (const r of rows) await admin.query(`drop database if exists ${r.datname} with (force)`).catch(() => {});
    } finally {
      await admin.end();
    }
  } else {
    const instance = await PGlite.create({ extensions: { pg_trgm } });
    const database = await createDatabase({ pglite: instance });
    await migrateToLatest(database.db);
    const dump = await instance.dumpDataDir('none');
    mkdirSync(join(process.cwd(), '.test-data'), { recursive: true });
    writeFileSync(pgliteTemplatePath(), Buffer.from(await dump.arrayBuffer()));
    await instance.close();
  }
}
