// npm run generate: table types from a freshly migrated database (kysely-codegen), then schema.graphql
// printed from the Pothos schema. Table types need a PostgreSQL server: GENERATE_DATABASE_URL,
// TEST_DATABASE_URL, or the local one; a scratch database is created and dropped.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createDatabase, migrateToLatest } from '@wicket/db';
import { printSchemaText } from '@wicket/graph';
import pg from 'pg';

const base = process.env.GENERATE_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const only = process.argv[2];

if (!only || only === 'db') {
  const scratch = `wicket_codegen_${process.pid}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`create database ${scratch}`);
  const url = new URL(base);
  url.pathname = `/${scratch}`;
  try {
    const database = await createDatabase({ url: url.toString() });
    await migrateToLatest(database.db);
    await database.close();
    execFileSync('npx', ['kysely-codegen', '--dialect', 'postgres', '--url', url.toString(), '--out-file', 'packages/db/src/types.ts',
      '--exclude-pattern', 'kysely_*', '--type-mapping', JSON.stringify({ int8: 'number', numeric: 'number' })], { stdio: 'inherit' });
  } finally {
    await admin.query(`drop database if exists ${scratch} with (force)`);
    await admin.end();
  }
}
if (!only || only === 'schema') {
  writeFileSync('schema.graphql', printSchemaText());
  console.log('schema.graphql written');
  // The console's operation types are generated from the printed schema.
  execFileSync('npx', ['gql.tada', 'generate', 'output'], { cwd: 'apps/console', stdio: 'inherit' });
}
