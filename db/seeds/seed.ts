// npm run seed [-- --entries N] [--owner EMAIL] [--batch ROWS]
//
// Migrates DATABASE_URL (or the PGlite folder WICKET_DATA_DIR/pgdata, default ./.wicket/pgdata, as the
// server uses), installs the demo when the database has no agents yet, and with --entries adds N more
// audit entries of the same shape over the last 30 days (generate.ts), printing the rate.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createCore, createLogger } from '@wicket/core';
import { createDatabase, migrateToLatest } from '@wicket/db';
import { installDemo } from './demo.ts';
import { generateAuditEntries } from './generate.ts';

const { values: args } = parseArgs({
  options: {
    entries: { type: 'string', default: '0' },
    owner: { type: 'string' },
    batch: { type: 'string' },
  },
});
const entries = Number(args.entries);
if (!Number.isInteger(entries) || entries < 0) throw new Error('--entries must be a non-negative integer');

/** The same secret the server uses, so sealed connector credentials and key digests stay valid for it. */
function serverSecret(dataDir: string): string {
  if (process.env.WICKET_SECRET) return process.env.WICKET_SECRET;
  const file = join(dataDir, 'server-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(file, secret, { mode: 0o600 });
  return secret;
}

const dataDir = resolve(process.env.WICKET_DATA_DIR ?? './.wicket');
mkdirSync(dataDir, { recursive: true });
const url = process.env.DATABASE_URL;
const database = await createDatabase(url ? { url } : { dataDir: join(dataDir, 'pgdata') });
const where = url ? `PostgreSQL ${new URL(url).host}${new URL(url).pathname}` : `PGlite ${join(dataDir, 'pgdata')}`;
try {
  const applied = await migrateToLatest(database.db);
  console.log(`${where}: ${applied.length ? `applied ${applied.join(', ')}` : 'schema up to date'}`);

  const core = createCore({ database, logger: createLogger({ level: 'warn' }), serverSecret: serverSecret(dataDir) });
  const started = performance.now();
  const demo = await installDemo(core, { ownerEmail: args.owner ?? process.env.WICKET_ADMIN_EMAIL });
  if (demo.installed) {
    const c = demo.counts;
    console.log(
      `demo installed in ${((performance.now() - started) / 1000).toFixed(1)} s: ${c.accounts} accounts, ${c.agents} agents, ${c.members} members, ` +
        `${c.memberKeys} member keys, ${c.policies} policies (${c.policyVersions} versions), ${c.auditEntries} audit entries, ${c.adminActivity} activity rows`,
    );
    console.log('sign in with the owner email through the console (the code is printed in the server log)');
  } else {
    console.log('the database already has agents: demo not installed');
  }

  if (entries > 0) {
    let lastPrint = 0;
    const result = await generateAuditEntries(database.db, {
      entries,
      batchRows: args.batch ? Number(args.batch) : undefined,
      onProgress(done, total) {
        if (done - lastPrint >= total / 10 || done === total) {
          lastPrint = done;
          process.stdout.write(`  ${done.toLocaleString('en-US')} / ${total.toLocaleString('en-US')}\n`);
        }
      },
    });
    console.log(
      `generated ${result.inserted.toLocaleString('en-US')} audit entries in ${result.seconds.toFixed(1)} s ` +
        `(${result.rowsPerSecond.toLocaleString('en-US')} rows/s, ${result.statements} INSERT statements, then ANALYZE)`,
    );
  }
} finally {
  await database.close();
}
