import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { createLogger } from '@wicket/core';
import { createDatabase, migrateToLatest, type Database } from '@wicket/db';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { buildApp, type App } from '../../apps/server/src/app.ts';
import { startDemo } from '../../apps/server/src/demo.ts';
import { TEST_SECRET } from '../support/factories.ts';

export const CHROMIUM = '/usr/bin/chromium';
const root = process.cwd();
const consoleDir = join(root, 'apps/console');

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function consoleSourceHash(): string {
  const h = createHash('sha256');
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      if (['node_modules', '.next'].includes(name)) continue;
      const p = join(d, name);
      const s = statSync(p);
      if (s.isDirectory()) walk(p);
      else h.update(p).update(readFileSync(p));
    }
  };
  walk(consoleDir);
  return h.digest('hex');
}

/** `next build` once per source state (the stamp lives in .next). */
export function buildConsole(): void {
  const stamp = join(consoleDir, '.next', 'wicket-build-stamp');
  const hash = consoleSourceHash();
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === hash) return;
  const r = spawnSync('npx', ['next', 'build'], { cwd: consoleDir, stdio: 'pipe', env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`next build failed:\n${r.stdout}\n${r.stderr}`);
  mkdirSync(join(consoleDir, '.next'), { recursive: true });
  writeFileSync(stamp, hash);
}

export interface ConsoleWorld {
  app: App;
  database: Database;
  apiUrl: string;
  consoleUrl: string;
  ownerAccountId: string;
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** Signs the page in through the one-time link, as a new user of `npm start` would. */
  signIn(next?: string): Promise<void>;
  screenshot(name: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * The real thing: server on a fresh PGlite with the demo installation and its upstream MCP servers,
 * the built console under `next start`, and Debian's Chromium. Both on "localhost" so the session
 * cookie set by the API is sent by the console's requests (cookies ignore ports).
 */
export async function startConsoleWorld(): Promise<ConsoleWorld> {
  buildConsole();
  const pglite = await PGlite.create({ extensions: { pg_trgm } });
  const database = await createDatabase({ pglite });
  await migrateToLatest(database.db);
  const consolePort = await freePort();
  const consoleUrl = `http://localhost:${consolePort}`;
  const app = buildApp({ database, logger: createLogger({ level: 'silent' }), serverSecret: TEST_SECRET, consoleOrigins: [consoleUrl] });
  const demo = await startDemo(app.core, {});
  const { port } = await app.start(0);
  const apiUrl = `http://localhost:${port}`;

  const next: ChildProcess = spawn('npx', ['next', 'start', '-p', String(consolePort), '-H', '127.0.0.1'], {
    cwd: consoleDir,
    env: { ...process.env, WICKET_API_URL: apiUrl, NEXT_TELEMETRY_DISABLED: '1' },
    stdio: 'pipe',
  });
  let nextOutput = '';
  next.stdout?.on('data', (d) => (nextOutput += d));
  next.stderr?.on('data', (d) => (nextOutput += d));
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const r = await fetch(`${consoleUrl}/sign-in`);
      if (r.status < 500) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline || next.exitCode !== null) throw new Error(`console did not start:\n${nextOutput}`);
    await new Promise((r) => setTimeout(r, 250));
  }

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  const ownerAccountId = demo.ownerAccountId!;
  const shots = join(root, 'docs', 'screenshots');
  mkdirSync(shots, { recursive: true });

  return {
    app,
    database,
    apiUrl,
    consoleUrl,
    ownerAccountId,
    browser,
    context,
    page,
    async signIn(nextPath = '/') {
      const token = await app.core.auth.createSignInLink(ownerAccountId);
      await page.goto(`${consoleUrl}/sign-in?link=${token}&next=${encodeURIComponent(nextPath)}`);
      await page.waitForURL((u) => !u.pathname.startsWith('/sign-in'), { timeout: 30_000 });
    },
    async screenshot(name) {
      await page.screenshot({ path: join(shots, `${name}.png`) });
    },
    async close() {
      await browser.close().catch(() => {});
      next.kill('SIGTERM');
      await app.stop();
      await demo.stop();
      await database.close();
      await pglite.close().catch(() => {});
    },
  };
}
