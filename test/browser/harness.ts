import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { isConsoleBuildCurrent, markConsoleBuilt } from '../../scripts/console-build.mjs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { createLogger, type Access, type Viewer } from '@wicket/core';
import { createDatabase, migrateToLatest, type Database } from '@wicket/db';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { buildApp, type App, type AppConfig } from '../../apps/server/src/app.ts';
import { startDemo } from '../../apps/server/src/demo.ts';
import { TEST_SECRET } from '../support/factories.ts';

export const CHROMIUM = '/usr/bin/chromium';
const root = process.cwd();
const consoleDir = join(root, 'apps/console');
const require = createRequire(import.meta.url);

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** What `next build` reads: sources and configuration, not files it writes itself (next-env.d.ts, tsbuildinfo). */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Two test files (vitest runs files in parallel) must not run `next build` in the same folder at once:
 * a lock directory, taken atomically by mkdir, stale after 10 minutes.
 */
async function withBuildLock<T>(fn: () => T): Promise<T> {
  const lock = join(consoleDir, '.next-build.lock');
  const deadline = Date.now() + 15 * 60_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      try {
        if (Date.now() - statSync(lock).mtimeMs > 10 * 60_000) rmSync(lock, { recursive: true, force: true });
      } catch {
        // released meanwhile
      }
      if (Date.now() > deadline) throw new Error(`waited too long for ${lock}`);
      await sleep(500);
    }
  }
  try {
    return fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** `next build` once per source state (the stamp lives in .next). */
export async function buildConsole(): Promise<void> {
  await withBuildLock(() => {
    if (isConsoleBuildCurrent(consoleDir)) return;
    const r = spawnSync(process.execPath, [require.resolve('next/dist/bin/next'), 'build'], {
      cwd: consoleDir,
      stdio: 'pipe',
      env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' },
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`next build failed:\n${r.stdout}\n${r.stderr}`);
    markConsoleBuilt(consoleDir);
  });
}

/**
 * Runs `next start` (one process, which calls itself next-server). It stays in our process group, so a
 * Ctrl-C in the terminal reaches it too; stop() and our exit take it down otherwise.
 */
export async function startNext(port: number, apiUrl: string): Promise<{ url: string; stop(): Promise<void> }> {
  const url = `http://localhost:${port}`;
  const child: ChildProcess = spawn(process.execPath, [require.resolve('next/dist/bin/next'), 'start', '-p', String(port), '-H', '127.0.0.1'], {
    cwd: consoleDir,
    env: { ...process.env, WICKET_API_URL: apiUrl, NEXT_TELEMETRY_DISABLED: '1' },
    stdio: 'pipe',
  });
  const kill = (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
  };
  // A test worker that dies without running its hooks still takes the console down with it.
  const onExit = () => kill('SIGKILL');
  process.once('exit', onExit);
  const stop = async () => {
    process.off('exit', onExit);
    if (child.exitCode !== null || child.signalCode !== null) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    kill('SIGTERM');
    await Promise.race([exited, new Promise<void>((resolve) => (timer = setTimeout(resolve, 5_000)))]);
    clearTimeout(timer);
    kill('SIGKILL');
  };
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const r = await fetch(`${url}/sign-in`);
      if (r.status < 500) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline || child.exitCode !== null) {
      await stop();
      throw new Error(`console did not start:\n${output}`);
    }
    await sleep(200);
  }
  return { url, stop };
}

/** Debian's Chromium, headless; never a downloaded browser. */
export async function launchChromium(): Promise<Browser> {
  if (!chromiumAvailable()) throw new Error(`Chromium is required at ${CHROMIUM} for the browser tests (apt-get install chromium)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', '--disable-dev-shm-usage'],
  });
}

export interface McpAnswer {
  status: number;
  body: any;
}

export interface ConsoleWorld {
  app: App;
  database: Database;
  apiUrl: string;
  consoleUrl: string;
  ownerAccountId: string;
  ownerEmail: string;
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** Sign-in codes the server sent, newest last (the server's `delivery`, recorded). */
  codes: { email: string; code: string }[];
  /** Signs the page in through the one-time link, as a new user of `npm start` would. */
  signIn(next?: string): Promise<void>;
  /** Signs the page in by email and the code delivered for it, through the sign-in form. */
  signInWithCode(email?: string, next?: string): Promise<void>;
  /** The same, on the sign-in page already open (after a redirect to it). */
  completeCodeSignIn(email?: string): Promise<void>;
  /** The owner's Access, for calling core use cases directly. */
  ownerAccess(): Promise<Access>;
  /** GraphQL over HTTP as the signed-in browser (its session cookie). */
  graphql<T = any>(query: string, variables?: Record<string, unknown>): Promise<T>;
  /** GET an API path as the signed-in browser (its session cookie). */
  apiGet(path: string): Promise<Response>;
  /** A fresh key for a member (rotates: the old one stops working). */
  memberKey(agentId: string, memberId: string): Promise<string>;
  /** One JSON-RPC `tools/call` to /mcp with a member key (raw HTTP: the status is what is asserted). */
  mcpCall(key: string, name: string, args?: Record<string, unknown>): Promise<McpAnswer>;
  screenshot(name: string): Promise<void>;
  close(): Promise<void>;
}

export interface ConsoleWorldOptions {
  /** An existing migrated database (the benchmark's PostgreSQL); default a fresh PGlite. */
  database?: Database;
  /** Closed by close() (default: only when the world created it). */
  closeDatabase?: boolean;
  viewport?: { width: number; height: number };
  /** MCP proxy settings (the benchmark turns the per-key rate limit off to stream 50 calls/s). */
  proxy?: AppConfig['proxy'];
}

/**
 * The real thing: server on a fresh PGlite with the demo installation and its upstream MCP servers,
 * the built console under `next start`, and Debian's Chromium. Both on "localhost" so the session
 * cookie set by the API is sent by the console's requests (cookies ignore ports).
 */
export async function startConsoleWorld(options: ConsoleWorldOptions = {}): Promise<ConsoleWorld> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const cleanup = async () => {
    for (const fn of cleanups.reverse()) await fn().catch(() => {});
    cleanups.length = 0;
  };
  try {
    if (!chromiumAvailable()) throw new Error(`Chromium is required at ${CHROMIUM} for the browser tests (apt-get install chromium)`);
    await buildConsole();
    let database = options.database;
    if (!database) {
      const pglite = await PGlite.create({ extensions: { pg_trgm } });
      cleanups.push(() => pglite.close());
      database = await createDatabase({ pglite });
      cleanups.push(() => database!.close());
      await migrateToLatest(database.db);
    } else if (options.closeDatabase) {
      cleanups.push(() => database!.close());
    }
    const consolePort = await freePort();
    const consoleUrl = `http://localhost:${consolePort}`;
    const codes: { email: string; code: string }[] = [];
    const app = buildApp({
      database,
      logger: createLogger({ level: 'silent' }),
      serverSecret: TEST_SECRET,
      consoleOrigins: [consoleUrl],
      delivery: { deliver: async (email, code) => void codes.push({ email, code }) },
      proxy: options.proxy,
    });
    const demo = await startDemo(app.core, {});
    cleanups.push(() => demo.stop());
    const { port } = await app.start(0, '127.0.0.1');
    cleanups.push(() => app.stop());
    const apiUrl = `http://localhost:${port}`;

    const next = await startNext(consolePort, apiUrl);
    cleanups.push(() => next.stop());

    const browser = await launchChromium();
    cleanups.push(() => browser.close());
    const context = await browser.newContext({ viewport: options.viewport ?? { width: 1440, height: 900 }, acceptDownloads: true, locale: 'en-US', timezoneId: 'UTC' });
    const page = await context.newPage();
    const ownerAccountId = demo.ownerAccountId!;
    const owner = await database.db.selectFrom('accounts').select(['email', 'name']).where('id', '=', ownerAccountId).executeTakeFirstOrThrow();
    const shots = join(root, 'docs', 'screenshots');
    mkdirSync(shots, { recursive: true });

    const cookieHeader = async () => (await context.cookies(apiUrl)).map((c) => `${c.name}=${c.value}`).join('; ');
    const ownerViewer: Viewer = { accountId: ownerAccountId, email: owner.email, name: owner.name, credential: { kind: 'session', id: '00000000-0000-0000-0000-000000000000' } };

    const world: ConsoleWorld = {
      app,
      database,
      apiUrl,
      consoleUrl,
      ownerAccountId,
      ownerEmail: owner.email,
      browser,
      context,
      page,
      codes,
      async signIn(nextPath = '/') {
        const token = await app.core.auth.createSignInLink(ownerAccountId);
        await page.goto(`${consoleUrl}/sign-in?link=${token}&next=${encodeURIComponent(nextPath)}`);
        await page.waitForURL((u) => !u.pathname.startsWith('/sign-in'), { timeout: 30_000 });
      },
      async signInWithCode(email = owner.email, nextPath) {
        await page.goto(`${consoleUrl}/sign-in${nextPath ? `?next=${encodeURIComponent(nextPath)}` : ''}`);
        await world.completeCodeSignIn(email);
      },
      async completeCodeSignIn(email = owner.email) {
        const before = codes.length;
        await page.getByTestId('sign-in-email').fill(email);
        await page.getByTestId('sign-in-request-code').click();
        await page.getByTestId('sign-in-code').waitFor();
        const deadline = Date.now() + 10_000;
        while (!codes.slice(before).some((c) => c.email === email)) {
          if (Date.now() > deadline) throw new Error(`no sign-in code was delivered for ${email}`);
          await sleep(50);
        }
        const { code } = codes.slice(before).reverse().find((c) => c.email === email)!;
        await page.getByTestId('sign-in-code').fill(code);
        await page.getByTestId('sign-in-submit').click();
        await page.waitForURL((u) => !u.pathname.startsWith('/sign-in'), { timeout: 30_000 });
      },
      ownerAccess: () => app.core.access(ownerViewer),
      async graphql(query, variables = {}) {
        const r = await fetch(`${apiUrl}/graphql`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Cookie: await cookieHeader() },
          body: JSON.stringify({ query, variables }),
        });
        const body = (await r.json()) as { data?: any; errors?: { message: string }[] };
        if (body.errors?.length) throw new Error(`GraphQL: ${body.errors.map((e) => e.message).join('; ')}`);
        return body.data;
      },
      async apiGet(path) {
        return fetch(`${apiUrl}${path}`, { headers: { Cookie: await cookieHeader() } });
      },
      async memberKey(agentId, memberId) {
        const { key } = await app.core.members.rotateKey(await world.ownerAccess(), agentId, memberId);
        return key;
      },
      async mcpCall(key, name, args = {}) {
        const r = await fetch(`${apiUrl}/mcp`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', Authorization: `Bearer ${key}` },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: args } }),
        });
        const text = await r.text();
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // an SSE body or plain text: kept as is
        }
        return { status: r.status, body };
      },
      async screenshot(name) {
        await page.screenshot({ path: join(shots, `${name}.png`) });
      },
      close: cleanup,
    };
    return world;
  } catch (error) {
    await cleanup();
    throw error;
  }
}
