import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { createLogger } from '@wicket/core';
import { createDatabase, migrateToLatest } from '@wicket/db';
import { buildApp } from './app.ts';
import { readConfig } from './config.ts';
import { startDemo } from './demo.ts';

// The composition root: the only place that reads the environment.
const config = readConfig(process.env);
const logger = createLogger({ level: config.LOG_LEVEL, pretty: config.LOG_PRETTY === '1' || (config.LOG_PRETTY === undefined && process.stdout.isTTY) });

function serverSecret(dataDir: string): string {
  if (config.WICKET_SECRET) return config.WICKET_SECRET;
  // Generated once and kept beside the data: several instances sharing one PostgreSQL need WICKET_SECRET.
  const file = join(dataDir, 'server-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(file, secret, { mode: 0o600 });
  return secret;
}

async function main() {
  const dataDir = resolve(config.WICKET_DATA_DIR);
  mkdirSync(dataDir, { recursive: true });
  const database = await createDatabase(config.DATABASE_URL ? { url: config.DATABASE_URL } : { dataDir: join(dataDir, 'pgdata') });
  const applied = await migrateToLatest(database.db);
  logger.info({ database: database.kind, applied }, applied.length ? 'migrations applied' : 'database schema is up to date');

  const consoleOrigins = (config.CONSOLE_ORIGIN ?? `http://localhost:${config.CONSOLE_PORT},http://127.0.0.1:${config.CONSOLE_PORT}`).split(',').map((s) => s.trim());
  const proxy = {
    rateLimit: { burst: config.WICKET_RATE_LIMIT_BURST, refillPerSecond: config.WICKET_RATE_LIMIT_PER_SECOND },
    upstreamTimeoutMs: config.WICKET_UPSTREAM_TIMEOUT_MS,
    trustedProxyHops: config.WICKET_TRUSTED_PROXY_HOPS,
    maxPendingDecisions: config.WICKET_PROXY_MAX_PENDING,
    callerCache: config.WICKET_PROXY_CALLER_CACHE === 0 ? (false as const) : config.WICKET_PROXY_CALLER_CACHE,
  };
  const app = buildApp({ database, logger, serverSecret: serverSecret(dataDir), consoleOrigins, proxy });
  const { core } = app;

  let ownerId: string | undefined;
  if (config.WICKET_ADMIN_EMAIL) {
    const r = await core.auth.bootstrapOwner({ email: config.WICKET_ADMIN_EMAIL, apiToken: config.WICKET_ADMIN_TOKEN });
    ownerId = r.accountId;
    if (r.created) logger.info({ email: config.WICKET_ADMIN_EMAIL, apiToken: !!config.WICKET_ADMIN_TOKEN }, 'first owner account created');
  }
  const demo = config.WICKET_DEMO ? await startDemo(core, { ownerEmail: config.WICKET_ADMIN_EMAIL }) : undefined;
  ownerId ??= demo?.ownerAccountId;

  const { port } = await app.start(config.PORT, config.HOST);
  const apiUrl = `http://localhost:${port}`;
  logger.info({ port, database: database.kind }, `Wicket listening on ${apiUrl} (GraphQL ${apiUrl}/graphql, MCP ${apiUrl}/mcp)`);
  if (ownerId) {
    const token = await core.auth.createSignInLink(ownerId);
    const link = `http://localhost:${config.CONSOLE_PORT}/sign-in?link=${token}`;
    logger.info({ event: 'sign_in_link' }, `one-time sign-in link for the first owner: ${link}`);
  }

  // Configured retention: purge at start, then hourly.
  let retentionTimer: NodeJS.Timeout | undefined;
  if (config.WICKET_RETENTION_DAYS) {
    const days = config.WICKET_RETENTION_DAYS;
    const purge = () =>
      core.retention
        .purgeOlderThan(days)
        .then((r) => logger.info({ cutoff: r.cutoff, removed: r.removed }, 'audit retention purge'))
        .catch((err) => logger.error({ err }, 'audit retention purge failed'));
    await purge();
    retentionTimer = setInterval(purge, 3_600_000);
    retentionTimer.unref();
  }

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    if (retentionTimer) clearInterval(retentionTimer);
    await app.stop();
    await demo?.stop();
    await database.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((err) => {
  logger.fatal({ err }, 'Wicket failed to start');
  process.exit(1);
});
