/**
 * Proxy benchmark (not a vitest test): what POST /mcp adds to a tool call, and how fast audit entries are written.
 *
 *   npx tsx test/bench/proxy.bench.ts            # against postgres://postgres@127.0.0.1:5432 (BENCH_DATABASE_URL)
 *   BENCH_SECONDS=2 npx tsx test/bench/proxy.bench.ts   # shorter runs
 *   BENCH_UPSTREAM=json|sse                             # the SDK demo upstream instead of the lean one
 *   BENCH_ONLY=idle [BENCH_IDLE=12] [BENCH_SAMPLES=3]   # calls after a quiet spell (direct, then through the proxy);
 *                                                       # BENCH_BASELINE=idle-close: the hot path's connections
 *                                                       # close when idle, as before 2026-11-23
 *   BENCH_ONLY=single|64|offered  BENCH_PROFILE=DIR     # profiling runs (CPU profiles of the server); offered:
 *                                                       # 1,000 calls/s, with the slowest calls placed in time
 *   BENCH_ONLY=floor [BENCH_ROUNDS=3] [BENCH_RATE=1000] # the floor: at a fixed rate, rounds of direct calls, a
 *                                                       # bare HTTP hop, a bare hop with a durable one-row commit
 *                                                       # (support/floor-proxy.ts) and Wicket, side by side
 *   BENCH_CLIENT=http                                   # the load generator on node:http instead of the lean
 *                                                       # client (support/lean-client.ts)
 *   BENCH_SETUP_SQL='drop index …'                      # run on the scratch database after migrating
 *                                                       # (attribution experiments, not the product's figures)
 *
 * Three processes, so that load generator, proxy and upstream do not share one event loop:
 *   - an upstream: a lean MCP server on node:http (support/lean-upstream.ts; BENCH_UPSTREAM=json|sse:
 *     the demo GitHub MCP server on the official SDK, JSON or SSE answers);
 *   - the Wicket server (buildApp, rate limit off), on a scratch database `wicket_bench_proxy` it creates;
 *   - this process: sets up agents with 10, 100 and 1,000 policies, then drives calls over node:http.
 *
 * Measures: latency p50/p95/p99 through the proxy and straight to the upstream at 1, 16 and 64 concurrent
 * clients and at a fixed offered load of 1,000 calls/s; audited calls per second; Cedar time per decision;
 * the SDK Client forwarder against the lean fetch forwarder; audit rows/s through the group-commit writer
 * against one INSERT per row, multi-row INSERTs and COPY FROM STDIN into the same table.
 */
import { fork, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { loadavg, cpus } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { AuditWriter, createCore, createLogger, type Core } from '@wicket/core';
import { createDatabase, migrateToLatest, repo, type Database } from '@wicket/db';
import { HttpForwarder } from '@wicket/proxy';
import { connectorOf, findDemoCatalog, startUpstreamServer } from '@wicket/upstream-demo';
import { buildApp } from '../../apps/server/src/app.ts';
import { startFloorProxy } from './support/floor-proxy.ts';
import { LeanHttpClient } from './support/lean-client.ts';
import { startLeanUpstream } from './support/lean-upstream.ts';
import { postgresCpuMs, startProfiler } from './support/measure.ts';

const BASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const DB_NAME = 'wicket_bench_proxy';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const UPSTREAM_MODE = process.env.BENCH_UPSTREAM === 'sse' ? 'sse' : process.env.BENCH_UPSTREAM === 'json' ? 'json' : 'lean';
// The load generator's client: lean (support/lean-client.ts) unless BENCH_CLIENT=http, or with an SDK upstream
// (which needs the MCP session the forwarder opens for the direct calls).
const CLIENT = process.env.BENCH_CLIENT === 'http' || UPSTREAM_MODE !== 'lean' ? 'http' : 'lean';
const SECRET = 'bench-server-secret-0123456789abcdef';
const CREDENTIAL = 'ghu_benchcredential00000000000000000001';
const AUTHORIZATION = `Bearer ${CREDENTIAL}`;
const SELF = fileURLToPath(import.meta.url);

function dbUrl(name: string): string {
  const u = new URL(BASE_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

// ---------------------------------------------------------------------------------------------------
// Child roles

async function runUpstream(): Promise<void> {
  // BENCH_UPSTREAM=lean (default): a lean MCP server on node:http (test/bench/support/lean-upstream.ts),
  // so the upstream's own CPU does not take the two cores the proxy is measured on. json: the SDK demo
  // server with plain JSON answers; sse: the SDK demo server answering SSE streams (the demo's default).
  const server =
    UPSTREAM_MODE === 'lean'
      ? await startLeanUpstream({ catalog: findDemoCatalog('github')!, expectedAuthorization: AUTHORIZATION })
      : await startUpstreamServer({ catalog: findDemoCatalog('github')!, expectedAuthorization: AUTHORIZATION, jsonResponse: UPSTREAM_MODE === 'json' });
  answerCpuQueries();
  // Its event-loop delay too (BENCH_ONLY=offered), to tell a stall here from one in the proxy.
  answerLoopQueries();
  process.send!({ url: server.url });
}

/** The parent asks a child for its CPU time, to count what one call costs it whatever else runs on the machine. */
function answerCpuQueries(): void {
  process.on('message', (m) => {
    if (m === 'cpu') process.send!({ cpu: process.cpuUsage() });
  });
}

type LoopDelay = { p50: number; p99: number; max: number };

/** This process's event-loop delay, answered on 'loop' (ms) and restarted on 'queries-reset'. */
function answerLoopQueries(): void {
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  process.on('message', (m) => {
    if (m === 'queries-reset') loop.reset();
    if (m === 'loop') process.send!({ loop: { p50: loop.percentile(50) / 1e6, p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 } satisfies LoopDelay });
  });
}

/** CPU time (µs) of every PostgreSQL server process, exited backends included (support/measure.ts). */
function postgresCpuMicros(): number {
  return postgresCpuMs() * 1000;
}

type QueryStats = { kind: string; count: number; p50: number; p95: number }[];

/** Sends `request` to a child and resolves with the `key` field of its first reply that has one. */
function ask<K extends string, T>(child: ChildProcess, request: string, key: K): Promise<T> {
  return new Promise((resolve) => {
    const onMessage = (m: Partial<Record<K, T>>) => {
      if (m[key] === undefined) return;
      child.off('message', onMessage);
      resolve(m[key] as T);
    };
    child.on('message', onMessage);
    child.send(request);
  });
}

const queryStats = (child: ChildProcess) => ask<'queries', QueryStats>(child, 'queries', 'queries');
const cpuUsageOf = (child: ChildProcess) => ask<'cpu', NodeJS.CpuUsage>(child, 'cpu', 'cpu');

async function cpuMicros(child: ChildProcess): Promise<number> {
  const cpu = await cpuUsageOf(child);
  return cpu.user + cpu.system;
}

/** Statement kinds of the call path, for "where the time goes". */
const STATEMENTS: [string, RegExp][] = [
  ['audit INSERT (group commit; re-checks cached callers)', /^(insert into "?audit_entries|with v as \(\s*select \* from unnest)/],
  ['caller, route and policy revision (one lookup; none on a cache hit)', /from member_keys k/],
  ['policy reload (only after a change)', /from "policies"/],
  ['outcome UPDATE (batched, off the path)', /^\s*update audit_entries a/],
];

async function runServer(forwarder: 'http' | 'sdk'): Promise<void> {
  const durations = new Map<string, number[]>();
  const database = await createDatabase({
    url: dbUrl(DB_NAME),
    poolSize: 10,
    // BENCH_BASELINE=idle-close: the hot path's connections close when idle, as before 2026-11-23.
    keepHotConnections: process.env.BENCH_BASELINE !== 'idle-close',
    log: (event) => {
      const kind = STATEMENTS.find(([, re]) => re.test(event.query.sql))?.[0];
      if (kind) (durations.get(kind) ?? durations.set(kind, []).get(kind)!).push(event.queryDurationMillis);
    },
  });
  // The server's event-loop delay (BENCH_ONLY=offered), to tell a stall in this process from one elsewhere.
  answerLoopQueries();
  // BENCH_PROFILE with BENCH_ONLY=offered|floor: a CPU profile of the proxied fixed-rate runs alone.
  const profiler = process.env.BENCH_PROFILE ? await startProfiler() : undefined;
  process.on('message', (m) => {
    if (m === 'profile-start') void profiler?.start().then(() => process.send!({ profiling: true }));
    if (typeof m === 'string' && m.startsWith('profile-stop:')) void profiler?.stop(m.slice('profile-stop:'.length)).then(() => process.send!({ profiled: true }));
    if (m === 'queries-reset') durations.clear();
    if (m === 'queries') {
      process.send!({
        queries: [...durations].map(([kind, ms]) => {
          const sorted = [...ms].sort((a, b) => a - b);
          return { kind, count: ms.length, p50: pct(sorted, 50), p95: pct(sorted, 95) };
        }),
      });
    }
  });
  const app = buildApp({ database, logger: createLogger({ level: 'silent' }), serverSecret: SECRET, proxy: { rateLimit: false, forwarder } });
  const { url } = await app.start(0);
  answerCpuQueries();
  process.send!({ url });
}

/** BENCH_ONLY=floor: a bare proxy (support/floor-proxy.ts) in a process of its own, like the server. */
async function runFloor(mode: 'hop' | 'commit', upstreamUrl: string): Promise<void> {
  const floor = await startFloorProxy({ mode, databaseUrl: dbUrl(DB_NAME), upstreamUrl, upstreamAuthorization: AUTHORIZATION });
  answerCpuQueries();
  process.send!({ url: floor.url });
}

const children: ChildProcess[] = [];
process.on('exit', () => {
  for (const c of children) c.kill();
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));

function spawn(role: string, ...args: string[]): Promise<{ child: ChildProcess; url: string }> {
  // BENCH_PROFILE=DIR writes a V8 CPU profile of each server process there (open it in Chrome DevTools).
  // (BENCH_ONLY=offered|floor: only the proxied fixed-rate runs, profiled from inside the server, see runServer.)
  const windowed = process.env.BENCH_ONLY === 'offered' || process.env.BENCH_ONLY === 'floor';
  const profile = role === 'server' && process.env.BENCH_PROFILE && !windowed ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
  const child = fork(SELF, [role, ...args], { execArgv: ['--import', 'tsx', ...profile], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.once('message', (m: { url: string }) => resolve({ child, url: m.url }));
    child.once('exit', (code) => reject(new Error(`${role} exited with ${code}`)));
  });
}

// ---------------------------------------------------------------------------------------------------
// Measurement

interface Run {
  calls: number;
  errors: number;
  seconds: number;
  latencies: number[];
  /** performance.now() when each answer arrived (openLoop only), in the order of `latencies`. */
  finished: number[];
}

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function summary(run: Run) {
  const s = [...run.latencies].sort((a, b) => a - b);
  return { p50: pct(s, 50), p95: pct(s, 95), p99: pct(s, 99), rate: run.calls / run.seconds, errors: run.errors, calls: run.calls };
}

/** C clients, each calling as soon as its previous call answered. */
async function closedLoop(concurrency: number, seconds: number, call: () => Promise<boolean>): Promise<Run> {
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const t = performance.now();
        const ok = await call().catch(() => false);
        latencies.push(performance.now() - t);
        if (!ok) errors++;
      }
    }),
  );
  return { calls: latencies.length, errors, seconds: (performance.now() - started) / 1000, latencies, finished: [] };
}

/** Calls started on a fixed schedule whatever the answers do; latency counts from the scheduled start. */
async function openLoop(perSecond: number, seconds: number, call: () => Promise<boolean>): Promise<Run> {
  const total = perSecond * seconds;
  const latencies: number[] = [];
  const finished: number[] = [];
  let errors = 0;
  const started = performance.now();
  const inflight: Promise<void>[] = [];
  let next = 0;
  while (next < total) {
    const now = performance.now();
    while (next < total && started + (next * 1000) / perSecond <= now) {
      const scheduled = started + (next * 1000) / perSecond;
      inflight.push(
        call()
          .catch(() => false)
          .then((ok) => {
            const now = performance.now();
            latencies.push(now - scheduled);
            finished.push(now);
            if (!ok) errors++;
          }),
      );
      next++;
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(inflight);
  return { calls: latencies.length, errors, seconds: (performance.now() - started) / 1000, latencies, finished };
}

/**
 * BENCH_ONLY=offered: the 1,000 calls/s run alone (10 policies; BENCH_RATE=n another rate), straight and
 * through the proxy, with CPU per call of each process (proxy user/system, PostgreSQL, load generator),
 * the database statements' times, the event-loop delay of proxy and load generator, and where in the run
 * the slow calls fell (10 ms windows): tells a stall (many slow calls at once) from a spread tail, and a
 * stall in a Node process from one outside it.
 */
async function offeredProfile(server: ChildProcess, upstream: ChildProcess, proxied: () => Promise<boolean>, straight: () => Promise<boolean>, log: (s?: string) => void): Promise<void> {
  const seconds = Math.min(SECONDS, 3);
  const rate = Number(process.env.BENCH_RATE ?? 1000);
  const d = summary(await openLoop(rate, seconds, straight));
  server.send('queries-reset');
  upstream.send('queries-reset');
  const cpuBefore = await cpuUsageOf(server);
  const selfBefore = process.cpuUsage();
  const pgBefore = postgresCpuMicros();
  const own = monitorEventLoopDelay({ resolution: 1 });
  own.enable();
  const t0 = performance.now();
  // What the database's sessions wait on, sampled every 10 ms: the audit INSERTs' wait events, and when
  // background work (autovacuum, checkpoints) ran, to set beside the windows of slow calls.
  const sampler = new pg.Client({ connectionString: BASE_URL });
  await sampler.connect();
  const checkpoints = async () => Number((await sampler.query('select checkpoints_timed + checkpoints_req as n from pg_stat_bgwriter')).rows[0].n);
  const checkpointsBefore = await checkpoints();
  const waits = new Map<string, number>();
  const background = new Map<string, number[]>();
  // Every sample's active sessions, to print beside the stalls: [ms into the run, "what:wait" per session].
  const timeline: [number, string[]][] = [];
  const kindOf = (query: string) => (/^\s*with v/.test(query) ? 'INSERT' : /^\s*update audit_entries/.test(query) ? 'UPDATE' : query.replace(/\s+/g, ' ').trim().slice(0, 24));
  let sampling = true;
  const sampled = (async () => {
    while (sampling) {
      const at = performance.now() - t0;
      const r = await sampler.query<{ backend_type: string; wait: string | null; query: string }>(
        `select backend_type, wait_event_type || ':' || wait_event as wait, left(query, 60) as query from pg_stat_activity
         where pid <> pg_backend_pid() and (state = 'active' or backend_type not in ('client backend', 'walwriter', 'background writer', 'autovacuum launcher', 'logical replication launcher'))`,
      );
      timeline.push([at, r.rows.map((row) => `${row.backend_type === 'client backend' ? kindOf(row.query) : row.backend_type}:${row.wait ?? 'CPU'}`)]);
      for (const row of r.rows) {
        if (row.backend_type === 'client backend' && /unnest/.test(row.query) && /^\s*with v/.test(row.query)) {
          const k = row.wait ?? 'on CPU';
          waits.set(k, (waits.get(k) ?? 0) + 1);
        } else if (row.backend_type !== 'client backend' && (row.wait === null || !/Main$/.test(row.wait))) {
          (background.get(row.backend_type) ?? background.set(row.backend_type, []).get(row.backend_type)!).push(Math.round(at / 10) * 10);
        }
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  const run = await profiled(server, 'offered', () => openLoop(rate, seconds, proxied));
  sampling = false;
  await sampled;
  const checkpointsDuring = (await checkpoints()) - checkpointsBefore;
  await sampler.end();
  own.disable();
  const p = summary(run);
  const cpu = process.cpuUsage(selfBefore);
  const cpuAfter = await cpuUsageOf(server);
  log(`${rate} calls/s: direct p50 ${f1(d.p50)} p99 ${f1(d.p99)}; proxy p50 ${f1(p.p50)} p95 ${f1(p.p95)} p99 ${f1(p.p99)} ms`);
  log(`  CPU µs/call: proxy user ${f0((cpuAfter.user - cpuBefore.user) / p.calls)} + system ${f0((cpuAfter.system - cpuBefore.system) / p.calls)}, PostgreSQL ${f0((postgresCpuMicros() - pgBefore) / p.calls)}, load generator ${f0((cpu.user + cpu.system) / p.calls)}`);
  for (const q of await queryStats(server)) log(`  ${q.kind}: ${q.count} × p50 ${f1(q.p50)} p95 ${f1(q.p95)} ms`);
  const loop = await ask<'loop', LoopDelay>(server, 'loop', 'loop');
  const upLoop = await ask<'loop', LoopDelay>(upstream, 'loop', 'loop');
  log(`  event-loop delay: server p50 ${f1(loop.p50)} p99 ${f1(loop.p99)} max ${f1(loop.max)} ms; upstream p50 ${f1(upLoop.p50)} p99 ${f1(upLoop.p99)} max ${f1(upLoop.max)} ms; load generator p50 ${f1(own.percentile(50) / 1e6)} p99 ${f1(own.percentile(99) / 1e6)} max ${f1(own.max / 1e6)} ms`);
  // latencies[i] belongs to the i-th call to answer, not the i-th started: place each slow answer at its finish.
  const slow = run.latencies.length ? pct([...run.latencies].sort((a, b) => a - b), 99) : 0;
  const windows = new Map<number, number>();
  for (let i = 0; i < run.finished.length; i++) {
    if (run.latencies[i] < slow) continue;
    const w = Math.floor((run.finished[i] - t0) / 10);
    windows.set(w, (windows.get(w) ?? 0) + 1);
  }
  const total = [...waits.values()].reduce((a, b) => a + b, 0);
  log(`  audit INSERT sessions seen active in ${total} samples, waiting on: ${[...waits].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${((100 * n) / total).toFixed(0)} %`).join(', ')}`);
  log(`  background work seen (ms into the run): ${[...background].map(([k, at]) => `${k} ${at[0]}–${at[at.length - 1]} (${at.length} samples)`).join('; ') || 'none'}; checkpoints started during the run (any database on the server): ${checkpointsDuring}`);
  log(`  calls at or above p99 (${f1(slow)} ms) by the 10 ms window they finished in: ${[...windows].sort((a, b) => a[0] - b[0]).map(([w, n]) => `${w * 10}ms×${n}`).join(' ')}`);
  // What the database's sessions were doing from p99 before the first slow answer of the busiest window to
  // the end of that window: tells a stall waiting on a lock, the WAL or the CPU from one outside PostgreSQL.
  const busiest = [...windows].sort((a, b) => b[1] - a[1])[0];
  if (busiest) {
    const from = busiest[0] * 10 - slow;
    const to = busiest[0] * 10 + 10;
    const seen = timeline.filter(([at]) => at >= from && at <= to);
    log(`  sessions active ${f0(from)}–${f0(to)} ms into the run (${seen.length} samples): ${seen.map(([at, rows]) => `${f0(at)}: ${rows.join(', ') || '-'}`).join(' | ')}`);
  }
}

/** BENCH_PROFILE=DIR: `run` under a CPU profile of the server process (DIR/<name>-<time>.cpuprofile). */
async function profiled<T>(server: ChildProcess, name: string, run: () => Promise<T>): Promise<T> {
  const dir = process.env.BENCH_PROFILE;
  if (!dir) return run();
  await ask(server, 'profile-start', 'profiling');
  const result = await run();
  await ask(server, `profile-stop:${dir}/${name}-${Date.now()}.cpuprofile`, 'profiled');
  return result;
}

/**
 * BENCH_ONLY=floor: what a proxy that commits a record before forwarding cannot go below on this machine.
 * Each round runs, at the same fixed rate and one after another: the calls straight to the upstream, then
 * each path in `paths`; a path's overhead is its percentile less the direct run's of the same round (the
 * machine's speed drifts between rounds, so rounds are compared, not runs across them). Ends with the
 * medians over the rounds. CPU per call: the path's process (proxy), all of PostgreSQL, and this process
 * (the load generator).
 */
async function floorComparison(
  paths: { label: string; child: ChildProcess; call: () => Promise<boolean>; profile?: string }[],
  direct: () => Promise<boolean>,
  log: (s?: string) => void,
): Promise<void> {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const rate = Number(process.env.BENCH_RATE ?? 1000);
  const seconds = Math.min(SECONDS, 3);
  const overheads = new Map<string, { p50: number[]; p95: number[]; p99: number[] }>();
  log(`## The floor at ${rate} calls/s: ${rounds} rounds of ${seconds} s per path (overhead = path − direct, same round)`);
  log();
  log('| round | path | p50 | p95 | p99 | overhead p50 | p95 | p99 | calls/s | errors | process CPU µs/call | PostgreSQL CPU µs/call | load generator CPU µs/call |');
  log('|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  const ownCpu = () => {
    const c = process.cpuUsage();
    return c.user + c.system;
  };
  for (let round = 1; round <= rounds; round++) {
    const selfBefore = ownCpu();
    const d = summary(await openLoop(rate, seconds, direct));
    log(`| ${round} | direct | ${f1(d.p50)} | ${f1(d.p95)} | ${f1(d.p99)} | | | | ${f0(d.rate)} | ${d.errors} | | | ${f0((ownCpu() - selfBefore) / d.calls)} |`);
    for (const path of paths) {
      const cpuBefore = await cpuMicros(path.child);
      const pgBefore = postgresCpuMicros();
      const selfBefore = ownCpu();
      const run = () => openLoop(rate, seconds, path.call);
      const p = summary(await (path.profile ? profiled(path.child, `${path.profile}-round${round}`, run) : run()));
      const self = (ownCpu() - selfBefore) / p.calls;
      const cpu = ((await cpuMicros(path.child)) - cpuBefore) / p.calls;
      const pgCpu = (postgresCpuMicros() - pgBefore) / p.calls;
      const o = overheads.get(path.label) ?? overheads.set(path.label, { p50: [], p95: [], p99: [] }).get(path.label)!;
      o.p50.push(p.p50 - d.p50);
      o.p95.push(p.p95 - d.p95);
      o.p99.push(p.p99 - d.p99);
      log(`| ${round} | ${path.label} | ${f1(p.p50)} | ${f1(p.p95)} | ${f1(p.p99)} | ${f1(p.p50 - d.p50)} | ${f1(p.p95 - d.p95)} | ${f1(p.p99 - d.p99)} | ${f0(p.rate)} | ${p.errors} | ${f0(cpu)} | ${f0(pgCpu)} | ${f0(self)} |`);
    }
  }
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  log();
  log('| path | overhead p50 (median of rounds) | p95 | p99 |');
  log('|---|---:|---:|---:|');
  for (const [label, o] of overheads) log(`| ${label} | ${f1(median(o.p50))} | ${f1(median(o.p95))} | ${f1(median(o.p99))} |`);
}

/**
 * BENCH_ONLY=idle: calls after a quiet spell, as agents make them (bursts with pauses between). Each
 * sample waits BENCH_IDLE seconds (default 12, past the general pool's 10 s idle timeout), calls the
 * upstream straight, waits again, then makes five calls through the proxy; it prints their times and the
 * first call's audit INSERT as the server timed it.
 */
async function afterIdle(server: ChildProcess, proxied: () => Promise<boolean>, straight: () => Promise<boolean>, log: (s?: string) => void): Promise<void> {
  const idleS = Number(process.env.BENCH_IDLE ?? 12);
  const samples = Number(process.env.BENCH_SAMPLES ?? 3);
  const timed = async (call: () => Promise<boolean>) => {
    const t0 = performance.now();
    await call();
    return performance.now() - t0;
  };
  const pause = () => new Promise((r) => setTimeout(r, idleS * 1000));
  log(`## Calls after ${idleS} s idle (ms)`);
  log();
  log('| sample | direct, first call | proxy, call 1 | its audit INSERT | call 2 | call 3 | call 4 | call 5 |');
  log('|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (let i = 1; i <= samples; i++) {
    await pause();
    const direct = await timed(straight);
    await pause();
    server.send('queries-reset');
    const first = await timed(proxied);
    const insert = (await queryStats(server)).find((q) => q.kind.startsWith('audit INSERT'))?.p50 ?? NaN;
    const rest: number[] = [];
    for (let k = 0; k < 4; k++) rest.push(await timed(proxied));
    log(`| ${i} | ${f1(direct)} | ${f1(first)} | ${f1(insert)} | ${rest.map(f1).join(' | ')} |`);
  }
  log();
}

const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '–');
const f0 = (n: number) => (Number.isFinite(n) ? n.toFixed(0) : '–');

// ---------------------------------------------------------------------------------------------------
// Setup

function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * P policies of a plausible mix on the agent (services, tools, members, time windows, IP ranges,
 * argument conditions), one of which permits the benchmarked call; no forbid applies to it.
 */
async function addPolicies(core: Core, access: Awaited<ReturnType<Core['access']>>, agentId: string, count: number): Promise<void> {
  const rand = random(count);
  const pick = <T>(items: T[]) => items[Math.floor(rand() * items.length)];
  const catalogs = ['github', 'slack', 'linear'].map((s) => findDemoCatalog(s)!);
  // Other members of the agent, for policies that name specific members (never the benchmarked one).
  const strangers: string[] = [];
  for (let i = 0; i < 20; i++) {
    const account = await repo.insertAccount(core.db, { email: `m${i}-${randomUUID().slice(0, 8)}@example.com`, name: `M${i}` });
    strangers.push((await repo.insertMember(core.db, { agentId, accountId: account.id, role: 'member', status: 'approved', displayName: `M${i}`, email: account.email })).id);
  }
  await core.policies.create(access, agentId, { name: 'Bench: list repositories', service: 'github', effect: 'permit', tools: ['list_repositories'], principal: { type: 'all_members' } });
  for (let i = 1; i < count; i++) {
    const catalog = pick(catalogs);
    const tools = catalog.tools.map((t) => t.name).filter((t) => t !== 'list_repositories');
    const effect = rand() < 0.25 ? 'forbid' : 'permit';
    await core.policies.create(access, agentId, {
      name: `Bench policy ${i}`,
      service: catalog.service,
      effect,
      tools: [...new Set([pick(tools), pick(tools)])],
      principal: rand() < 0.3 ? { type: 'specific_members', memberIds: [pick(strangers)] } : { type: 'all_members' },
      timeWindow: rand() < 0.2 ? { daysOfWeek: [1, 2, 3, 4, 5], hoursFrom: 9, hoursTo: 17 } : null,
      callerIps: rand() < 0.15 ? ['10.0.0.0/8', '2001:db8::/32'] : undefined,
      conditions: rand() < 0.15 ? [{ key: 'repo', op: 'startsWith', value: 'acme/' }] : undefined,
      denyMessage: effect === 'forbid' ? `Blocked by bench rule ${i}` : undefined,
    });
  }
}

// ---------------------------------------------------------------------------------------------------
// Audit write throughput

function copyText(value: string | null): string {
  if (value === null) return '\\N';
  return value.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

/** COPY … FROM STDIN through pg's raw protocol (what pg-copy-streams does), one chunk per statement. */
function copyIn(client: pg.Client, text: string, data: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let failed: Error | null = null;
    const submittable = {
      submit(connection: any) {
        connection.query(text);
      },
      handleCopyInResponse(connection: any) {
        connection.sendCopyFromChunk(Buffer.from(data));
        connection.endCopyFrom();
      },
      handleCommandComplete() {},
      handleReadyForQuery() {
        if (failed) reject(failed);
        else resolve();
      },
      handleError(error: Error) {
        failed = error;
      },
    };
    client.query(submittable as never);
  });
}

async function auditWriteBench(database: Database, agentId: string): Promise<Record<string, { rows: number; perSecond: number; note: string }>> {
  const db = database.db;
  const row = () => ({
    id: randomUUID(),
    timestamp: new Date(),
    agent_id: agentId,
    agent_name: 'bench-writes',
    member_id: null,
    member_name: 'bench',
    member_key_id: 'mk_bench',
    session_id: null,
    service: 'github',
    tool: 'list_repositories',
    action: 'GitHubMCP::Action::"list_repositories"',
    resource: 'GitHubMCP::Service::"github"',
    caller_ip: '127.0.0.1',
    tool_args: JSON.stringify({ owner: 'acme', repo: 'api', page: 1 }),
    decision: 'ALLOW' as const,
    reason: 'Allowed by policy "Bench" (bench, v1).',
    policy_id: null,
    matched_policy_ids: [] as string[],
    matched_policies: '[]',
    principal: 'GitHubMCP::Member::"bench"',
    duration_ms: null,
    completed_at: null,
  });
  const out: Record<string, { rows: number; perSecond: number; note: string }> = {};
  const seconds = SECONDS;

  async function producers(n: number, once: () => Promise<unknown>, rowsPerOp = 1): Promise<{ rows: number; perSecond: number }> {
    let rows = 0;
    const started = performance.now();
    const deadline = started + seconds * 1000;
    await Promise.all(
      Array.from({ length: n }, async () => {
        while (performance.now() < deadline) {
          await once();
          rows += rowsPerOp;
        }
      }),
    );
    return { rows, perSecond: rows / ((performance.now() - started) / 1000) };
  }

  const batches: number[] = [];
  const writer = new AuditWriter(db, createCore({ database, logger: createLogger({ level: 'silent' }), serverSecret: SECRET }).events, createLogger({ level: 'silent' }), {
    onBatch: (b) => batches.push(b.rows),
  });
  const gc = await producers(256, () => writer.write(row()));
  await writer.close();
  const mean = batches.reduce((a, b) => a + b, 0) / batches.length;
  out['group commit (256 concurrent callers, one awaited commit each)'] = { ...gc, note: `mean ${mean.toFixed(0)} rows per INSERT, ${batches.length} commits` };

  const single = await producers(256, () => repo.insertAuditEntryBatch(db, [row()]));
  out['one INSERT per row (256 concurrent callers, pool of 10)'] = { ...single, note: 'each row its own commit' };

  const multi = await producers(1, () => repo.insertAuditEntryBatch(db, Array.from({ length: 256 }, row)), 256);
  out['multi-row INSERT of 256 rows, one writer'] = { ...multi, note: 'the group-commit statement without callers' };

  const client = new pg.Client({ connectionString: dbUrl(DB_NAME) });
  await client.connect();
  const cols = ['id', 'timestamp', 'agent_id', 'agent_name', 'member_id', 'member_name', 'member_key_id', 'session_id', 'service', 'tool', 'action', 'resource', 'caller_ip', 'tool_args', 'decision', 'reason', 'policy_id', 'matched_policy_ids', 'matched_policies', 'principal'] as const;
  const copyBatch = () =>
    Array.from({ length: 1000 }, () => {
      const r = row() as Record<string, unknown>;
      return cols
        .map((c) => {
          const v = r[c];
          if (v === null || v === undefined) return '\\N';
          if (v instanceof Date) return v.toISOString();
          if (Array.isArray(v)) return `{${v.join(',')}}`;
          return copyText(String(v));
        })
        .join('\t');
    }).join('\n') + '\n';
  const copy = await producers(1, () => copyIn(client, `copy audit_entries (${cols.join(', ')}) from stdin`, copyBatch()), 1000);
  await client.end();
  out['COPY FROM STDIN, 1,000 rows per statement, one writer'] = { ...copy, note: 'bulk-load ceiling (same triggers, same indexes)' };
  return out;
}

// ---------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const log = (s = '') => process.stdout.write(`${s}\n`);
  const admin = new pg.Client({ connectionString: BASE_URL });
  await admin.connect();
  await admin.query(`drop database if exists ${DB_NAME} with (force)`);
  await admin.query(`create database ${DB_NAME}`);
  const database = await createDatabase({ url: dbUrl(DB_NAME), poolSize: 10 });
  await migrateToLatest(database.db);
  // BENCH_SETUP_SQL: statements run on the scratch database after migrating, for attribution experiments
  // (e.g. 'drop trigger audit_entries_rollup on audit_entries'); the run is then not the product's.
  if (process.env.BENCH_SETUP_SQL) {
    const setup = new pg.Client({ connectionString: dbUrl(DB_NAME) });
    await setup.connect();
    await setup.query(process.env.BENCH_SETUP_SQL);
    await setup.end();
    log(`BENCH_SETUP_SQL: ${process.env.BENCH_SETUP_SQL}`);
  }
  const core = createCore({ database, logger: createLogger({ level: 'silent' }), serverSecret: SECRET });

  const upstream = await spawn('upstream');
  await core.connectors.upsert(connectorOf(findDemoCatalog('github')!, { upstreamUrl: upstream.url, credentials: CREDENTIAL }));
  for (const c of ['slack', 'linear'].map((s) => findDemoCatalog(s)!)) await core.connectors.upsert(connectorOf(c, { upstreamUrl: null }));
  const account = await repo.insertAccount(database.db, { email: 'bench@example.com', name: 'Bench' });
  const secrets = core.secrets;
  const agents: { policies: number; agentId: string; key: string; memberId: string }[] = [];
  for (const policies of [10, 100, 1000]) {
    const agent = await repo.insertAgent(database.db, { name: `bench-${policies}`, trustMode: 'trusted', createdBy: account.id });
    await repo.insertMember(database.db, { agentId: agent.id, accountId: account.id, role: 'owner', status: 'approved', displayName: 'Bench', email: account.email });
    for (const s of ['github', 'slack', 'linear']) await repo.enableAgentService(database.db, agent.id, s);
    const member = (await repo.listMembers(database.db, { agentIds: [agent.id] }))[0];
    const key = secrets.generate('wk_', 32);
    await repo.insertMemberKey(database.db, { memberId: member.id, keyId: `mk_bench${policies}`, digest: secrets.digest(key), suffix: key.slice(-4) });
    const access = await core.access({ accountId: account.id, email: account.email, name: 'Bench', credential: { kind: 'token', id: 'bench' } });
    const t = performance.now();
    await addPolicies(core, access, agent.id, policies);
    log(`set up agent with ${policies} policies in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    agents.push({ policies, agentId: agent.id, key, memberId: member.id });
  }

  const server = await spawn('server', 'http');
  const sdkServer = await spawn('server', 'sdk');
  const direct = new HttpForwarder();
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'github__list_repositories', arguments: { owner: 'acme' } } });
  // Answers other than a forwarded result, by HTTP status (or client-side failure), over the whole run.
  const failures = new Map<string, number>();
  // A call counts when it is answered 200 with a JSON-RPC result; anything else is counted by status.
  const answered = (status: number | undefined, answer: Buffer) => {
    let ok = false;
    try {
      ok = status === 200 && (JSON.parse(answer.toString()) as { result?: unknown }).result !== undefined;
    } catch {
      ok = false;
    }
    if (!ok) failures.set(String(status), (failures.get(String(status)) ?? 0) + 1);
    return ok;
  };
  // BENCH_CLIENT=http: the agent's side on node:http with a keep-alive agent, like the direct calls
  // (HttpForwarder), so both paths cost the load generator the same and the difference is the proxy's.
  const clientAgent = new http.Agent({ keepAlive: true, maxSockets: 2048 });
  const viaHttp = (url: string, key: string) => () =>
    new Promise<boolean>((resolve, reject) => {
      const req = http.request(`${url}/mcp`, {
        method: 'POST',
        agent: clientAgent,
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${key}`, 'content-length': String(Buffer.byteLength(body)) },
      });
      req.on('error', (error: NodeJS.ErrnoException) => {
        // The load generator's own failures (e.g. resets when thousands of connections open at once).
        const cause = error.code ?? error.message;
        failures.set(`client: ${cause}`, (failures.get(`client: ${cause}`) ?? 0) + 1);
        reject(error);
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(answered(res.statusCode, Buffer.concat(chunks))));
      });
      req.end(body);
    });
  // BENCH_CLIENT=lean (default with the lean upstream): raw keep-alive connections with prepared requests
  // (support/lean-client.ts), a fraction of node:http's CPU per call on the cores shared with the proxy.
  // One client (and so one set of connections) per server, shared by every caller of it.
  const leanClients = new Map<string, LeanHttpClient>();
  const lean = (url: string, authorization: string, payload: string) => {
    const origin = new URL(url).origin;
    const client = leanClients.get(origin) ?? leanClients.set(origin, LeanHttpClient.forUrl(url)).get(origin)!;
    const request = client.prepare(new URL(url).pathname, { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', Authorization: authorization }, payload);
    return async () => {
      try {
        const answer = await client.send(request);
        return answered(answer.status, answer.body);
      } catch (error) {
        const cause = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
        failures.set(`client: ${cause}`, (failures.get(`client: ${cause}`) ?? 0) + 1);
        throw error;
      }
    };
  };
  const viaProxy = (url: string, key: string) => (CLIENT === 'lean' ? lean(`${url}/mcp`, `Bearer ${key}`, body) : viaHttp(url, key));
  const upstreamBody = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'list_repositories', arguments: { owner: 'acme' } } });
  const toUpstream =
    CLIENT === 'lean'
      ? lean(upstream.url, AUTHORIZATION, upstreamBody)
      : async () => {
          const r = await direct.callTool({ url: upstream.url, authorization: AUTHORIZATION }, { name: 'list_repositories', arguments: { owner: 'acme' } }, 30_000);
          return r.kind === 'result';
        };

  // Warm up: JIT, connections, the engine's per-agent sets.
  for (const a of agents) await closedLoop(4, 1, viaProxy(server.url, a.key));
  await closedLoop(4, 1, toUpstream);
  await closedLoop(4, 1, viaProxy(sdkServer.url, agents[0].key));

  log();
  log(`# Proxy benchmark — ${new Date().toISOString()}`);
  log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, load average before the runs ${loadavg().map((l) => l.toFixed(1)).join(' / ')}; ${SECONDS} s per run; PostgreSQL ${(await admin.query('show server_version')).rows[0].server_version}; client: ${CLIENT === 'lean' ? 'lean (support/lean-client.ts)' : 'node:http'}; upstream: ${UPSTREAM_MODE === 'lean' ? 'lean MCP server on node:http (JSON answers)' : UPSTREAM_MODE === 'json' ? 'SDK demo server, JSON answers' : 'SDK demo server, SSE answers'}`);
  log();

  server.child.send('queries-reset');
  const single = summary(await closedLoop(1, SECONDS, viaProxy(server.url, agents[0].key)));
  log('## Where the time goes (1 client, 10 policies): database statements of the call path, in ms');
  log();
  log(`proxy p50 ${f1(single.p50)} ms over ${single.calls} calls`);
  log();
  log('| statement | count | p50 | p95 |');
  log('|---|---:|---:|---:|');
  for (const q of await queryStats(server.child)) log(`| ${q.kind} | ${q.count} | ${f1(q.p50)} | ${f1(q.p95)} |`);
  log();
  if (process.env.BENCH_ONLY) {
    // Profiling runs (BENCH_ONLY=single: the run above; BENCH_ONLY=64: then 64 clients, 10 policies):
    // stop the servers gracefully so that --cpu-prof writes its file.
    if (process.env.BENCH_ONLY === 'offered') await offeredProfile(server.child, upstream.child, viaProxy(server.url, agents[0].key), toUpstream, log);
    if (process.env.BENCH_ONLY === 'floor') {
      const hop = await spawn('floor', 'hop', upstream.url);
      const commit = await spawn('floor', 'commit', upstream.url);
      for (const f of [hop, commit]) await closedLoop(4, 1, viaProxy(f.url, agents[0].key));
      await floorComparison(
        [
          { label: 'bare hop', child: hop.child, call: viaProxy(hop.url, agents[0].key) },
          { label: 'bare hop + durable one-row commit', child: commit.child, call: viaProxy(commit.url, agents[0].key) },
          { label: 'Wicket, 10 policies', child: server.child, call: viaProxy(server.url, agents[0].key), profile: 'wicket-10' },
          { label: 'Wicket, 1,000 policies', child: server.child, call: viaProxy(server.url, agents[2].key), profile: 'wicket-1000' },
        ],
        toUpstream,
        log,
      );
      for (const f of [hop, commit]) f.child.kill('SIGINT');
    }
    if (process.env.BENCH_ONLY === 'idle') await afterIdle(server.child, viaProxy(server.url, agents[0].key), toUpstream, log);
    if (process.env.BENCH_ONLY === '64') {
      const cpuBefore = await cpuMicros(server.child);
      const pgBefore = postgresCpuMicros();
      const p = summary(await closedLoop(64, SECONDS, viaProxy(server.url, agents[0].key)));
      const pgCpu = (postgresCpuMicros() - pgBefore) / p.calls;
      log(`64 clients: p50 ${f1(p.p50)} ms, ${f0(p.rate)} calls/s, proxy CPU ${f0(((await cpuMicros(server.child)) - cpuBefore) / p.calls)} µs/call, PostgreSQL CPU ${f0(pgCpu)} µs/call`);
    }
    for (const c of [server.child, sdkServer.child, upstream.child]) c.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 1500));
    await database.close();
    // As the full run does: the scratch database goes (it is created afresh at the start anyway).
    await admin.query(`drop database if exists ${DB_NAME} with (force)`);
    await admin.end();
    return;
  }

  const rows: string[] = [];
  const loads: { label: string; run: (call: () => Promise<boolean>) => Promise<Run> }[] = [
    { label: '1 client', run: (c) => closedLoop(1, SECONDS, c) },
    { label: '16 clients', run: (c) => closedLoop(16, SECONDS, c) },
    { label: '64 clients', run: (c) => closedLoop(64, SECONDS, c) },
    // Capped at 3 s: past saturation the backlog alone takes minutes to drain.
    { label: '1,000 calls/s offered', run: (c) => openLoop(1000, Math.min(SECONDS, 3), c) },
  ];
  const directRuns = new Map<string, ReturnType<typeof summary>>();
  let upstreamCpu = 0;
  for (const l of loads) {
    const before = await cpuMicros(upstream.child);
    const run = summary(await l.run(toUpstream));
    if (l.label === '1 client') upstreamCpu = ((await cpuMicros(upstream.child)) - before) / run.calls;
    directRuns.set(l.label, run);
  }
  log('## Latency (ms) through the proxy and straight to the upstream');
  log();
  log('| load | policies | proxy p50 | p95 | p99 | direct p50 | p95 | p99 | overhead p50 | p95 | p99 | proxy calls/s | proxy CPU µs/call | PostgreSQL CPU µs/call | errors |');
  log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  let audited = 0;
  for (const l of loads) {
    const d = directRuns.get(l.label)!;
    for (const a of agents) {
      const cpuBefore = await cpuMicros(server.child);
      const pgBefore = postgresCpuMicros();
      const p = summary(await l.run(viaProxy(server.url, a.key)));
      const pgCpu = (postgresCpuMicros() - pgBefore) / p.calls;
      const cpu = ((await cpuMicros(server.child)) - cpuBefore) / p.calls;
      if (l.label === '64 clients') audited = Math.max(audited, p.rate);
      rows.push(
        `| ${l.label} | ${a.policies} | ${f1(p.p50)} | ${f1(p.p95)} | ${f1(p.p99)} | ${f1(d.p50)} | ${f1(d.p95)} | ${f1(d.p99)} | ${f1(p.p50 - d.p50)} | ${f1(p.p95 - d.p95)} | ${f1(p.p99 - d.p99)} | ${f0(p.rate)} | ${f0(cpu)} | ${f0(pgCpu)} | ${p.errors} |`,
      );
      log(rows[rows.length - 1]);
    }
  }
  log();
  log(`direct to the upstream: ${[...directRuns].map(([k, v]) => `${k} ${f0(v.rate)} calls/s`).join(', ')}; the upstream's own CPU per call: ${f0(upstreamCpu)} µs`);
  log(`audited calls per second (64 clients, best of the three agents): ${f0(audited)}`);
  log(`proxy calls without a result, by HTTP status or client failure: ${failures.size ? [...failures].map(([s, n]) => `${s} × ${n}`).join(', ') : 'none'}`);
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  const sum = Number(/wicket_audit_batch_rows_sum (\S+)/.exec(metrics)?.[1]);
  const count = Number(/wicket_audit_batch_rows_count (\S+)/.exec(metrics)?.[1]);
  log(`group commit in the proxy over all runs: ${f0(sum)} entries in ${f0(count)} INSERTs (mean ${(sum / count).toFixed(1)} per commit)`);

  log();
  log('## Forwarder: lean fetch against the official SDK Client (10 policies)');
  log();
  log('| load | fetch p50 | p95 | p99 | calls/s | CPU µs/call | SDK Client p50 | p95 | p99 | calls/s | CPU µs/call |');
  log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const l of loads.slice(0, 2)) {
    const measure = async (s: { child: ChildProcess; url: string }) => {
      const before = await cpuMicros(s.child);
      const run = summary(await l.run(viaProxy(s.url, agents[0].key)));
      return { ...run, cpu: ((await cpuMicros(s.child)) - before) / run.calls };
    };
    const a = await measure(server);
    const b = await measure(sdkServer);
    log(`| ${l.label} | ${f1(a.p50)} | ${f1(a.p95)} | ${f1(a.p99)} | ${f0(a.rate)} | ${f0(a.cpu)} | ${f1(b.p50)} | ${f1(b.p95)} | ${f1(b.p99)} | ${f0(b.rate)} | ${f0(b.cpu)} |`);
  }

  log();
  log('## Cedar evaluation per decision (µs, DecisionService.decide with the agent\'s loaded policies)');
  log();
  log('"fresh": 2,500 members the engine has not seen, so Cedar evaluates; "repeated": one member 2,500 times, where a');
  log('slice that reads no context (list_repositories here: one permit, no condition) reuses its answer and a slice that');
  log('reads arguments, time or IP (get_file_contents: some of the random policies have conditions) evaluates every time.');
  log();
  log('| policies | tool | fresh p50 | p95 | p99 | repeated p50 | p95 | p99 |');
  log('|---:|---|---:|---:|---:|---:|---:|---:|');
  const firsts: string[] = [];
  for (const a of agents) {
    const policies = await core.decisions.loadAgentPolicies(a.agentId);
    const request = {
      agent: { id: a.agentId, trustMode: 'trusted' as const, timezone: 'UTC' },
      member: { id: a.memberId },
      service: 'github',
      namespace: 'GitHubMCP',
      tool: 'list_repositories',
      arguments: { owner: 'acme', repo: 'acme/api' },
      time: new Date(),
      callerIp: '10.1.2.3',
    };
    const t0 = performance.now();
    core.decisions.decide(policies, request);
    firsts.push(`${a.policies} policies ${f0((performance.now() - t0) * 1000)} µs`);
    for (const tool of ['list_repositories', 'get_file_contents']) {
      const time = (member: (i: number) => string) => {
        const us: number[] = [];
        for (let i = 0; i < 2500; i++) {
          const r = { ...request, member: { id: member(i) }, tool };
          const t = performance.now();
          core.decisions.decide(policies, r);
          us.push((performance.now() - t) * 1000);
        }
        return us.sort((x, y) => x - y);
      };
      const strangers = Array.from({ length: 2500 }, () => randomUUID());
      const fresh = time((i) => strangers[i]);
      const repeated = time(() => a.memberId);
      log(`| ${a.policies} | ${tool} | ${f1(pct(fresh, 50))} | ${f1(pct(fresh, 95))} | ${f1(pct(fresh, 99))} | ${f1(pct(repeated, 50))} | ${f1(pct(repeated, 95))} | ${f1(pct(repeated, 99))} |`);
    }
  }
  log();
  log(`first decision after loading the policies: ${firsts.join(', ')} (the first includes loading the Cedar WebAssembly module)`);

  log();
  log('## Audit writes into audit_entries');
  log();
  log('| method | rows/s | rows | note |');
  log('|---|---:|---:|---|');
  const writes = await auditWriteBench(database, agents[0].agentId);
  for (const [label, r] of Object.entries(writes)) log(`| ${label} | ${f0(r.perSecond)} | ${r.rows} | ${r.note} |`);
  log();
  log(`load average after: ${loadavg().map((l) => l.toFixed(1)).join(' / ')}`);

  await direct.close();
  clientAgent.destroy();
  for (const c of leanClients.values()) c.close();
  for (const c of [server.child, sdkServer.child, upstream.child]) c.kill();
  await database.close();
  await admin.query(`drop database if exists ${DB_NAME} with (force)`);
  await admin.end();
}

const role = process.argv[2];
// A child whose parent is gone (killed, crashed) must not live on and load the machine: its IPC channel
// closes with the parent. (Leftover servers of one run were seen reconnecting to the next run's database.)
if (role) process.on('disconnect', () => process.exit(0));
const job =
  role === 'upstream'
    ? runUpstream()
    : role === 'server'
      ? runServer((process.argv[3] as 'http' | 'sdk') ?? 'http')
      : role === 'floor'
        ? runFloor(process.argv[3] as 'hop' | 'commit', process.argv[4])
        : main();
job.catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
