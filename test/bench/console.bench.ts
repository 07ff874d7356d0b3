/**
 * The console in a real browser (Debian's Chromium, headless) against the real server on PostgreSQL with
 * a large audit log: cold load of the audit view, DOM size and scroll frame times with 100 vs 100,000
 * rows loaded, filter change to paint, and frame times while 50 entries/s stream into 10,000 rows.
 *
 *   npx tsx test/bench/console.bench.ts [--entries 1000000] [--rows 100000] [--reseed] [--json FILE]
 *   (or: npm run bench -- console)
 *
 * CONSOLE_BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/wicket_console_bench) is a
 * scratch database: created, migrated and seeded (demo + db/seeds/generate.ts) when it holds fewer
 * entries than asked for. Without a reachable PostgreSQL it falls back to an in-memory PGlite with
 * 200,000 entries and says so. The console is the production build (`next start`), as in the browser tests.
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import pg from 'pg';
import type { Page } from 'playwright-core';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { createCore, createLogger } from '@wicket/core';
import { createDatabase, migrateToLatest, type Database } from '@wicket/db';
import { installDemo } from '../../db/seeds/demo.ts';
import { generateAuditEntries } from '../../db/seeds/generate.ts';
import { startConsoleWorld, type ConsoleWorld } from '../browser/harness.ts';
import { TEST_SECRET } from '../support/factories.ts';
import { percentile } from './support/measure.ts';

const { values: args } = parseArgs({
  options: {
    entries: { type: 'string' },
    rows: { type: 'string', default: '100000' },
    reseed: { type: 'boolean', default: false },
    json: { type: 'string' },
    'seed-only': { type: 'boolean', default: false },
  },
});
const URL_ = process.env.CONSOLE_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/wicket_console_bench';
const ROWS = Number(args.rows);
const STREAM_ROWS = 10_000;
const STREAM_PER_SECOND = 50;
const STREAM_SECONDS = 10;

const log = (line: string) => console.log(line);
const fmt = (ms: number) => `${ms.toFixed(ms < 10 ? 1 : 0)} ms`;

// ---------------------------------------------------------------------------------------------------
// The database

async function postgresReachable(): Promise<boolean> {
  const c = new pg.Client({ connectionString: Object.assign(new URL(URL_), { pathname: '/postgres' }).toString(), connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.end();
    return true;
  } catch {
    return false;
  }
}

async function seed(database: Database, entries: number): Promise<void> {
  await migrateToLatest(database.db);
  // The same secret as the server the harness builds, so the sealed connector credentials open.
  const core = createCore({ database, logger: createLogger({ level: 'silent' }), serverSecret: TEST_SECRET });
  const demo = await installDemo(core);
  const started = performance.now();
  const result = await generateAuditEntries(database.db, {
    entries: Math.max(0, entries - demo.counts.auditEntries),
    onProgress: (done, total) => process.stdout.write(`\r  seeding ${done.toLocaleString('en-US')} / ${total.toLocaleString('en-US')}`),
  });
  log(
    `\nseeded: demo (${demo.counts.auditEntries} entries) + ${result.inserted.toLocaleString('en-US')} generated in ` +
      `${((performance.now() - started) / 1000).toFixed(1)} s (${result.rowsPerSecond.toLocaleString('en-US')} rows/s)`,
  );
}

async function openDatabase(): Promise<{ database: Database; backend: string; close(): Promise<void> }> {
  if (await postgresReachable()) {
    const entries = Number(args.entries ?? 1_000_000);
    const name = new URL(URL_).pathname.slice(1);
    const admin = new pg.Client({ connectionString: Object.assign(new URL(URL_), { pathname: '/postgres' }).toString() });
    await admin.connect();
    const exists = (await admin.query('select 1 from pg_database where datname = $1', [name])).rowCount! > 0;
    let count = 0;
    if (exists && !args.reseed) {
      const c = new pg.Client({ connectionString: URL_ });
      await c.connect();
      count = await c
        .query('select count(*)::int as n from audit_entries')
        .then((r) => r.rows[0].n as number)
        .catch(() => 0);
      await c.end();
    }
    if (count < entries) {
      await admin.query(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`);
      await admin.query(`create database ${pg.escapeIdentifier(name)}`);
    }
    await admin.end();
    const database = await createDatabase({ url: URL_ });
    if (count < entries) await seed(database, entries);
    else {
      const applied = await migrateToLatest(database.db);
      log(`using ${name}: ${count.toLocaleString('en-US')} audit entries (--reseed to rebuild)${applied.length ? `; applied ${applied.join(', ')}` : ''}`);
    }
    return { database, backend: `PostgreSQL (${name})`, close: () => database.close() };
  }
  const entries = Number(args.entries ?? 200_000);
  log(`PostgreSQL at ${new URL(URL_).host} is not reachable: falling back to an in-memory PGlite with ${entries.toLocaleString('en-US')} entries`);
  const pglite = await PGlite.create({ extensions: { pg_trgm } });
  const database = await createDatabase({ pglite });
  await seed(database, entries);
  return {
    database,
    backend: 'PGlite (in memory)',
    async close() {
      await database.close();
      await pglite.close().catch(() => {});
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// In the page

/** rAF deltas (ms) while `drive(frame)` runs once per frame for `frames` frames. */
async function frameTimesWhileScrolling(page: Page, options: { from: number; to: number; step: number; frames: number }): Promise<number[]> {
  return page.evaluate(
    ({ from, to, step, frames }) =>
      new Promise<number[]>((resolve) => {
        const el = document.querySelector<HTMLElement>('[data-testid="audit-scroll"]')!;
        el.scrollTop = from;
        let direction = 1;
        const deltas: number[] = [];
        let last = 0;
        let n = 0;
        const tick = (t: number) => {
          if (last) deltas.push(t - last);
          last = t;
          if (n++ >= frames) return resolve(deltas);
          let next = el.scrollTop + direction * step;
          if (next >= to || next <= from) {
            direction = -direction;
            next = Math.min(Math.max(next, from), to);
          }
          el.scrollTop = next;
          requestAnimationFrame(tick);
        };
        // Two frames to settle before measuring.
        requestAnimationFrame(() => requestAnimationFrame(tick));
      }),
    options,
  );
}

/**
 * Main-thread time (ms) the renderer spent on tasks (script, style, layout, paint records) while `fn`
 * ran, from the DevTools protocol's Performance domain: what the page itself costs, apart from how
 * busy the machine is.
 */
async function mainThreadBusy<T>(page: Page, fn: () => Promise<T>): Promise<{ result: T; taskMs: number; scriptMs: number; layoutMs: number }> {
  const cdp = await page.context().newCDPSession(page);
  try {
    await cdp.send('Performance.enable');
    const read = async () => Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]));
    const before = await read();
    const result = await fn();
    const after = await read();
    const ms = (name: string) => (after[name] - before[name]) * 1000;
    return { result, taskMs: ms('TaskDuration'), scriptMs: ms('ScriptDuration'), layoutMs: ms('LayoutDuration') + ms('RecalcStyleDuration') };
  } finally {
    await cdp.detach().catch(() => {});
  }
}

/** rAF deltas (ms) for `ms` milliseconds with nothing driven from the page. */
async function idleFrameTimes(page: Page, ms: number): Promise<number[]> {
  return page.evaluate(
    (duration) =>
      new Promise<number[]>((resolve) => {
        const deltas: number[] = [];
        let last = 0;
        let start = 0;
        const tick = (t: number) => {
          if (!start) start = t;
          if (last) deltas.push(t - last);
          last = t;
          if (t - start >= duration) return resolve(deltas);
          requestAnimationFrame(tick);
        };
        requestAnimationFrame(tick);
      }),
    ms,
  );
}

/** Elements in the document (and in the list) with the list scrolled to `row`, after it has settled. */
async function domNodes(page: Page, row: number): Promise<{ document: number; list: number }> {
  await page.evaluate((top) => (document.querySelector<HTMLElement>('[data-testid="audit-scroll"]')!.scrollTop = top), row * 40);
  await page.waitForTimeout(300);
  return page.evaluate(() => ({ document: document.getElementsByTagName('*').length, list: document.querySelector('[data-testid="audit-list"]')?.getElementsByTagName('*').length ?? 0 }));
}
const loadedCount = async (page: Page) => Number(await page.getByTestId('audit-list').getAttribute('data-count'));

/** Scrolls to the end of the list until `rows` entries are loaded (the list fetches 100 more each time). */
async function loadRowsThroughTheList(page: Page, rows: number): Promise<{ seconds: number; loaded: number }> {
  const started = performance.now();
  let lastProgress = 0;
  for (;;) {
    const loaded = await loadedCount(page);
    if (loaded >= rows) return { seconds: (performance.now() - started) / 1000, loaded };
    if (loaded - lastProgress >= 10_000) {
      process.stdout.write(`\r  loaded ${loaded.toLocaleString('en-US')} rows through the list (${((performance.now() - started) / 1000).toFixed(0)} s)`);
      lastProgress = loaded;
    }
    await page.evaluate(
      (before) =>
        new Promise<void>((resolve) => {
          const el = document.querySelector<HTMLElement>('[data-testid="audit-scroll"]')!;
          const list = document.querySelector<HTMLElement>('[data-testid="audit-list"]')!;
          el.scrollTop = el.scrollHeight;
          const check = () => (Number(list.dataset.count) > before ? resolve() : requestAnimationFrame(check));
          requestAnimationFrame(check);
        }),
      loaded,
    );
  }
}

// ---------------------------------------------------------------------------------------------------
// Measurements

interface FrameStats {
  p50: number;
  p95: number;
  max: number;
  /** Frames longer than one 60 Hz frame (20 ms, allowing for jitter). */
  late: number;
  frames: number;
  /** Renderer main-thread task time per frame (DevTools Performance.getMetrics). */
  mainThreadPerFrame: number;
}

interface FilterRun {
  ms: number;
  /** The GraphQL request, as the browser saw it (network, server, database). */
  graphql: number;
  beforeRequest: number;
  afterResponse: number;
  /** Requests to the console's own server in between (none since filters change the URL in the browser). */
  rsc: number;
}

interface Figures {
  backend: string;
  entries: number;
  coldLoad: { runs: number[]; p50: number; parts: ColdLoad[] };
  dom: {
    rows100: { document: number; list: number };
    rowsMany: { document: number; list: number };
    rows100Top: { document: number; list: number };
    rowsManyTop: { document: number; list: number };
    rowsLoaded: number;
    ratio: number;
    ratioTop: number;
    loadSeconds: number;
  };
  scroll: { rows100: FrameStats; rowsMany: FrameStats };
  filter: { runs: (FilterRun & { change: string })[]; p50: number; p95: number; max: number; graphqlP50: number; beforeRequestP50: number; afterResponseP50: number };
  stream: { rows: number; perSecond: number; seconds: number; received: number; idle: { p50: number; p95: number }; streaming: FrameStats };
}

const stats = (xs: number[]) => ({ p50: percentile(xs, 50), p95: percentile(xs, 95), max: Math.max(...xs) });
const frameStats = (deltas: number[], taskMs: number): FrameStats => ({
  ...stats(deltas),
  late: deltas.filter((d) => d > 20).length,
  frames: deltas.length,
  mainThreadPerFrame: taskMs / deltas.length,
});

interface ColdLoad {
  /** Navigation start to the frame that shows the first audit row. */
  ms: number;
  /** The console server's HTML, fully received. */
  html: number;
  /** Scripts parsed and run (DOMContentLoaded). */
  domContentLoaded: number;
  /** The first API request (the session check, once the app has hydrated) was sent. */
  firstApiRequest: number;
  /** API requests before the first row: session check, filter options, first page. */
  apiRequests: number;
}

/** Navigation start to the first audit row on screen, in a fresh browser context (empty HTTP cache). */
async function coldLoad(w: ConsoleWorld): Promise<ColdLoad> {
  const cookies = await w.context.cookies();
  const context = await w.browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'en-US', timezoneId: 'UTC' });
  try {
    await context.addCookies(cookies);
    const page = await context.newPage();
    await page.goto(`${w.consoleUrl}/audit`, { waitUntil: 'commit' });
    await page.locator('[data-testid="audit-row"]').first().waitFor({ timeout: 60_000 });
    // In the page's own clock: navigation start is 0.
    return await page.evaluate(
      () =>
        new Promise<ColdLoad>((resolve) =>
          requestAnimationFrame(() => {
            const ms = performance.now();
            const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
            const api = (performance.getEntriesByType('resource') as PerformanceResourceTiming[]).filter((e) => e.name.includes('/graphql'));
            resolve({ ms, html: nav.responseEnd, domContentLoaded: nav.domContentLoadedEventEnd, firstApiRequest: api[0]?.startTime ?? 0, apiRequests: api.length });
          }),
        ),
    );
  } finally {
    await context.close();
  }
}

/**
 * From the select's change event to the frame after the list shows rows matching the new filter: the
 * URL update, the GraphQL query against the full table, React's render and the paint.
 */
async function filterToPaint(page: Page, name: string, value: string, matches: { decision?: string; service?: string }): Promise<FilterRun> {
  await page.evaluate(
    ({ name, matches }) => {
      const w = window as unknown as { __filterMs?: number | null; __filterRequests?: { graphql: number; beforeRequest: number; afterResponse: number; rsc: number } };
      w.__filterMs = null;
      performance.clearResourceTimings(); // the buffer holds 250 entries by default
      const select = document.querySelector<HTMLSelectElement>(`[data-testid="filter-${name}"]`)!;
      const onChange = (event: Event) => {
        select.removeEventListener('change', onChange, true);
        const t0 = event.timeStamp;
        const ok = () => {
          // The answer to the new filter's query has arrived (not merely old rows that happen to match)…
          const answered = (performance.getEntriesByType('resource') as PerformanceResourceTiming[]).some(
            (e) => e.name.includes('/graphql') && e.startTime >= t0 && e.responseEnd > 0,
          );
          if (!answered) return false;
          // …and the list shows it.
          const rows = Array.from(document.querySelectorAll<HTMLElement>('[data-testid="audit-row"]'));
          if (!rows.length || document.querySelector('[data-testid="loading"]')) return false;
          return rows.every(
            (r) =>
              (!matches.decision || r.dataset.decision === matches.decision) &&
              (!matches.service || r.querySelector('[data-testid="audit-cell-service"]')?.textContent === matches.service),
          );
        };
        // Checked at the start of each frame; once true, this frame paints it, and a message posted now
        // is handled right after that paint.
        const poll = () => {
          if (!ok()) return void requestAnimationFrame(poll);
          const channel = new MessageChannel();
          channel.port1.onmessage = () => {
            const painted = performance.now();
            const during = performance.getEntriesByType('resource').filter((e) => e.startTime >= t0) as PerformanceResourceTiming[];
            const query = during.find((e) => e.name.includes('/graphql'));
            w.__filterRequests = {
              graphql: query ? query.responseEnd - query.startTime : 0,
              beforeRequest: query ? query.startTime - t0 : 0,
              afterResponse: query ? painted - query.responseEnd : 0,
              rsc: during.filter((e) => e.name.includes('_rsc=')).reduce((a, e) => a + e.duration, 0),
            };
            w.__filterMs = painted - t0;
          };
          channel.port2.postMessage(null);
        };
        poll();
      };
      select.addEventListener('change', onChange, true);
    },
    { name, matches },
  );
  await page.getByTestId(`filter-${name}`).selectOption(value);
  await page.waitForFunction(() => (window as unknown as { __filterMs?: number | null }).__filterMs != null, undefined, { timeout: 30_000 });
  return page.evaluate(() => {
    const w = window as unknown as { __filterMs: number; __filterRequests: { graphql: number; beforeRequest: number; afterResponse: number; rsc: number } };
    return { ms: w.__filterMs, ...w.__filterRequests };
  });
}

async function main(): Promise<void> {
  const db = await openDatabase();
  if (args['seed-only']) {
    await db.close();
    return;
  }
  const entries = Number((await db.database.db.selectFrom('audit_entries').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n);
  let w: ConsoleWorld | undefined;
  try {
    w = await startConsoleWorld({ database: db.database, proxy: { rateLimit: false } });
    // tsx compiles with esbuild's keepNames: functions passed to page.evaluate call its __name helper.
    await w.context.addInitScript({ content: 'globalThis.__name = (fn) => fn;' });
    await w.signIn('/audit');
    const { page } = w;
    const loadAverage = () => loadavg().map((l) => l.toFixed(1)).join(' / ');
    log(`\nconsole benchmark on ${db.backend}: ${entries.toLocaleString('en-US')} audit entries, Chromium headless, viewport 1440×900, load average ${loadAverage()}`);

    // 1. Cold load.
    const cold: ColdLoad[] = [];
    for (let i = 0; i < 5; i++) cold.push(await coldLoad(w));
    const coldRuns = cold.map((c) => c.ms);
    for (const c of cold) {
      log(`cold load to the first audit row: ${fmt(c.ms)} (HTML ${fmt(c.html)}, DOMContentLoaded ${fmt(c.domContentLoaded)}, first API request ${fmt(c.firstApiRequest)}, ${c.apiRequests} API requests)`);
    }

    // 2. 100 rows: DOM and scroll frames, bouncing over the first ~60 rows (no further page is fetched).
    await page.goto(`${w.consoleUrl}/audit`);
    await page.locator('[data-testid="audit-row"]').first().waitFor();
    await page.waitForFunction(() => document.querySelector('[data-testid="audit-list"]')?.getAttribute('data-count') === '100');
    // Like for like: at the top of the list, and scrolled into it (overscan rows above and below).
    const dom100 = await domNodes(page, 40);
    const dom100Top = await domNodes(page, 0);
    // Let the cold-load contexts finish closing, and warm up (JIT, row components) before measuring.
    await page.waitForTimeout(2000);
    // Bouncing over the first 30 rows: the list fetches more only when the last rendered row (in view
    // plus 12) comes within 30 of the end, so it stays at 100 rows (checked below).
    await frameTimesWhileScrolling(page, { from: 0, to: 30 * 40, step: 48, frames: 120 });
    const scroll100Run = await mainThreadBusy(page, () => frameTimesWhileScrolling(page, { from: 0, to: 30 * 40, step: 48, frames: 300 }));
    const scroll100 = scroll100Run.result;
    if ((await loadedCount(page)) !== 100) throw new Error(`the 100-row measurement loaded more rows (${await loadedCount(page)})`);
    log(
      `100 rows: ${dom100.document} DOM elements scrolled to row 40 (${dom100.list} in the list), ${dom100Top.document} at the top; scroll frames p50 ${fmt(percentile(scroll100, 50))}, ` +
        `p95 ${fmt(percentile(scroll100, 95))}; main thread ${fmt(scroll100Run.taskMs / scroll100.length)} per frame (script ${fmt(scroll100Run.scriptMs / scroll100.length)})`,
    );

    // 3. Many rows, loaded through the list itself (scrolling to the end fetches the next 100).
    const load = await loadRowsThroughTheList(page, ROWS);
    const rowsLoaded = await loadedCount(page);
    log(`\n${rowsLoaded.toLocaleString('en-US')} rows loaded through the list in ${load.seconds.toFixed(1)} s`);
    const domManyTop = await domNodes(page, 0);
    const mid = Math.floor(rowsLoaded / 2) * 40;
    const domMany = await domNodes(page, rowsLoaded / 2);
    await frameTimesWhileScrolling(page, { from: mid, to: mid + 30 * 40, step: 48, frames: 120 });
    const scrollManyRun = await mainThreadBusy(page, () => frameTimesWhileScrolling(page, { from: mid, to: mid + 30 * 40, step: 48, frames: 300 }));
    const scrollMany = scrollManyRun.result;
    log(`${rowsLoaded.toLocaleString('en-US')} rows: ${domMany.document} DOM elements scrolled to row ${rowsLoaded / 2} (${domMany.list} in the list), ${(domMany.document / dom100.document).toFixed(3)}× the 100-row page; ${domManyTop.document} at the top (${(domManyTop.document / dom100Top.document).toFixed(3)}×); scroll frames p50 ${fmt(percentile(scrollMany, 50))}, p95 ${fmt(percentile(scrollMany, 95))}; main thread ${fmt(scrollManyRun.taskMs / scrollMany.length)} per frame (script ${fmt(scrollManyRun.scriptMs / scrollMany.length)})`);

    // 4. Filter change to paint, on the full table.
    await page.goto(`${w.consoleUrl}/audit`);
    await page.locator('[data-testid="audit-row"]').first().waitFor();
    const changes: { name: string; value: string; matches: { decision?: string; service?: string } }[] = [
      { name: 'result', value: 'DENY', matches: { decision: 'DENY' } },
      { name: 'service', value: 'slack', matches: { decision: 'DENY', service: 'slack' } },
      { name: 'result', value: 'ALLOW', matches: { decision: 'ALLOW', service: 'slack' } },
      { name: 'service', value: 'github', matches: { decision: 'ALLOW', service: 'github' } },
      { name: 'result', value: '', matches: { service: 'github' } },
      { name: 'service', value: 'linear', matches: { service: 'linear' } },
      { name: 'result', value: 'DENY', matches: { decision: 'DENY', service: 'linear' } },
      { name: 'service', value: '', matches: { decision: 'DENY' } },
    ];
    const filterRuns: (FilterRun & { change: string })[] = [];
    for (let round = 0; round < 3; round++) {
      for (const c of changes) filterRuns.push({ change: `${c.name}=${c.value || 'any'}`, ...(await filterToPaint(page, c.name, c.value, c.matches)) });
      await page.getByTestId('filter-result').selectOption('');
      await page.waitForURL((u) => !u.searchParams.has('result'));
    }
    const filterMs = filterRuns.map((r) => r.ms);
    log(`filter change to paint (${filterRuns.length} changes): p50 ${fmt(percentile(filterMs, 50))}, p95 ${fmt(percentile(filterMs, 95))}, max ${fmt(Math.max(...filterMs))}`);
    for (const r of filterRuns) {
      log(`  ${r.change.padEnd(16)} ${fmt(r.ms).padStart(7)} = ${fmt(r.beforeRequest)} to the request + GraphQL ${fmt(r.graphql)} + ${fmt(r.afterResponse)} to paint${r.rsc ? ` (console server requests: ${fmt(r.rsc)})` : ''}`);
    }

    // 5. 50 entries/s streaming into a view holding 10,000 rows.
    await page.goto(`${w.consoleUrl}/audit`);
    await page.locator('[data-testid="audit-row"]').first().waitFor();
    await loadRowsThroughTheList(page, STREAM_ROWS);
    await page.evaluate(() => (document.querySelector<HTMLElement>('[data-testid="audit-scroll"]')!.scrollTop = 0));
    await page.waitForFunction(() => document.querySelector('[data-testid="audit-live-status"]')?.getAttribute('data-state') === 'connected', undefined, { timeout: 30_000 });
    const idle = await idleFrameTimes(page, 2000);
    const before = await loadedCount(page);
    const keys = await streamingKeys(w);
    let sent = 0;
    const world = w;
    const streamRun = await mainThreadBusy(page, async () => {
      const frames = idleFrameTimes(page, STREAM_SECONDS * 1000);
      sent = await streamCalls(world, keys, STREAM_PER_SECOND, STREAM_SECONDS);
      return frames;
    });
    const streamFrames = streamRun.result;
    await page.waitForTimeout(1000);
    const received = (await loadedCount(page)) - before;
    log(
      `\nstreaming ${STREAM_PER_SECOND}/s for ${STREAM_SECONDS} s into ${before.toLocaleString('en-US')} rows: ${sent} calls made, ${received} rows arrived; ` +
        `frames p50 ${fmt(percentile(streamFrames, 50))}, p95 ${fmt(percentile(streamFrames, 95))}, max ${fmt(Math.max(...streamFrames))} (idle p95 ${fmt(percentile(idle, 95))}); main thread ${fmt(streamRun.taskMs / streamFrames.length)} per frame`,
    );

    const figures: Figures = {
      backend: db.backend,
      entries,
      coldLoad: { runs: coldRuns, p50: percentile(coldRuns, 50), parts: cold },
      dom: {
        rows100: dom100,
        rowsMany: domMany,
        rows100Top: dom100Top,
        rowsManyTop: domManyTop,
        rowsLoaded,
        ratio: domMany.document / dom100.document,
        ratioTop: domManyTop.document / dom100Top.document,
        loadSeconds: load.seconds,
      },
      scroll: { rows100: frameStats(scroll100, scroll100Run.taskMs), rowsMany: frameStats(scrollMany, scrollManyRun.taskMs) },
      filter: {
        runs: filterRuns,
        ...stats(filterMs),
        graphqlP50: percentile(filterRuns.map((r) => r.graphql), 50),
        beforeRequestP50: percentile(filterRuns.map((r) => r.beforeRequest), 50),
        afterResponseP50: percentile(filterRuns.map((r) => r.afterResponse), 50),
      },
      stream: {
        rows: before,
        perSecond: STREAM_PER_SECOND,
        seconds: STREAM_SECONDS,
        received,
        idle: { p50: percentile(idle, 50), p95: percentile(idle, 95) },
        streaming: frameStats(streamFrames, streamRun.taskMs),
      },
    };
    log(`load average at the end: ${loadAverage()}`);
    printSummary(figures);
    if (args.json) writeFileSync(args.json, JSON.stringify(figures, null, 2));
  } finally {
    await w?.close();
    await db.close();
  }
}

/** Keys of approved members of active agents, for calls that the proxy forwards. */
async function streamingKeys(w: ConsoleWorld): Promise<{ key: string; tool: string; args: Record<string, unknown> }[]> {
  const rows = await w.database.db
    .selectFrom('members')
    .innerJoin('agents', 'agents.id', 'members.agent_id')
    .select(['members.id as memberId', 'agents.id as agentId', 'agents.name as agentName'])
    .where('members.status', '=', 'approved')
    .where('agents.status', '=', 'active')
    .where('agents.name', '=', 'billing-bot')
    .execute();
  const out = [];
  for (const r of rows) out.push({ key: await w.memberKey(r.agentId, r.memberId), tool: 'github__list_repositories', args: {} });
  return out;
}

/** `perSecond` tools/call requests per second, spread evenly, for `seconds`; returns how many were answered. */
async function streamCalls(w: ConsoleWorld, keys: { key: string; tool: string; args: Record<string, unknown> }[], perSecond: number, seconds: number): Promise<number> {
  const total = perSecond * seconds;
  const started = performance.now();
  const calls: Promise<unknown>[] = [];
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / perSecond;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const k = keys[i % keys.length];
    calls.push(w.mcpCall(k.key, k.tool, k.args));
  }
  const answers = (await Promise.all(calls)) as { status: number }[];
  const failed = answers.filter((a) => a.status !== 200).length;
  if (failed) console.warn(`${failed} of ${total} streamed calls were not answered 200`);
  return answers.length - failed;
}

function printSummary(f: Figures): void {
  const ok = (pass: boolean) => (pass ? 'ok' : 'MISSED');
  log('\n| measure | figure | target |');
  log('|---|---|---|');
  const part = (pick: (c: ColdLoad) => number) => fmt(percentile(f.coldLoad.parts.map(pick), 50));
  log(
    `| cold load of /audit to the first row (${f.coldLoad.runs.length} fresh contexts, p50) | ${fmt(f.coldLoad.p50)} (runs: ${f.coldLoad.runs.map((r) => r.toFixed(0)).join(', ')}); ` +
      `p50 HTML ${part((c) => c.html)}, DOMContentLoaded ${part((c) => c.domContentLoaded)}, first API request ${part((c) => c.firstApiRequest)} | — |`,
  );
  log(`| DOM elements, ${f.dom.rowsLoaded.toLocaleString('en-US')} rows vs 100 rows loaded, scrolled into the list | ${f.dom.rowsMany.document} vs ${f.dom.rows100.document} (${f.dom.ratio.toFixed(3)}×) | ≤ 1.1× ${ok(f.dom.ratio <= 1.1)} |`);
  log(`| DOM elements, ${f.dom.rowsLoaded.toLocaleString('en-US')} rows vs 100 rows loaded, at the top | ${f.dom.rowsManyTop.document} vs ${f.dom.rows100Top.document} (${f.dom.ratioTop.toFixed(3)}×) | ≤ 1.1× ${ok(f.dom.ratioTop <= 1.1)} |`);
  const frames = (x: FrameStats) =>
    `p95 ${fmt(x.p95)} (p50 ${fmt(x.p50)}, max ${fmt(x.max)}; ${x.late} of ${x.frames} frames > 20 ms; main thread ${fmt(x.mainThreadPerFrame)} per frame)`;
  // 33.4 ms is two 60 Hz frames measured with rAF jitter: the target means "at most one frame missed".
  const within = (x: FrameStats) => ok(x.p95 <= 34);
  log(`| scroll frame time, 100 rows | ${frames(f.scroll.rows100)} | p95 ≤ 33 ms ${within(f.scroll.rows100)} |`);
  log(`| scroll frame time, ${f.dom.rowsLoaded.toLocaleString('en-US')} rows | ${frames(f.scroll.rowsMany)} | p95 ≤ 33 ms ${within(f.scroll.rowsMany)} |`);
  log(
    `| filter change to paint (${f.filter.runs.length} changes) | p50 ${fmt(f.filter.p50)}, p95 ${fmt(f.filter.p95)}, max ${fmt(f.filter.max)}; p50 parts: ${fmt(f.filter.beforeRequestP50)} to the request, GraphQL ${fmt(f.filter.graphqlP50)}, ${fmt(f.filter.afterResponseP50)} to paint | ≤ 100 ms ${ok(f.filter.p95 <= 100)} |`,
  );
  log(
    `| frame time, ${f.stream.perSecond} entries/s into ${f.stream.rows.toLocaleString('en-US')} rows (${f.stream.seconds} s, ${f.stream.received} arrived) | ${frames(f.stream.streaming)} | p95 ≤ 33 ms ${within(f.stream.streaming)} |`,
  );
  log(`| (loading ${f.dom.rowsLoaded.toLocaleString('en-US')} rows through the list, 100 per request) | ${f.dom.loadSeconds.toFixed(1)} s | — |`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
