import { createDatabase, migrateToLatest } from '@wicket/db';

// npm run db:migrate — migrates DATABASE_URL, or the PGlite folder WICKET_DATA_DIR (default ./.wicket).
const database = await createDatabase({ url: process.env.DATABASE_URL, dataDir: process.env.DATABASE_URL ? undefined : (process.env.WICKET_DATA_DIR ?? './.wicket') });
try {
  const applied = await migrateToLatest(database.db);
  console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
} finally {
  await database.close();
}
