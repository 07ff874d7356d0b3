import { join } from 'node:path';

export type TestBackend = 'pglite' | 'postgres';

export function testBackend(): TestBackend {
  const b = process.env.WICKET_TEST_DB ?? (process.env.TEST_DATABASE_URL ? 'postgres' : 'pglite');
  if (b === 'postgres' && !process.env.TEST_DATABASE_URL) throw new Error('WICKET_TEST_DB=postgres needs TEST_DATABASE_URL');
  return b as TestBackend;
}

export function templateDatabaseName(): string {
  return 'wicket_template';
}

export function pgliteTemplatePath(): string {
  return join(process.cwd(), '.test-data', 'pglite-template.tar');
}
