/**
 * The live audit stream (graphql-ws) on PostgreSQL:
 *   - commit-to-delivery latency (p50/p99/max) with 100 and 1,000 subscribers while entries are written
 *     at 200/s, each write one insert + the `audit.committed` event, as the proxy does it
 *   - time for one entry to reach all N subscribers (N = 100 and 1,000), beside a plain `ws` broadcast of a pre-serialised
 *     frame of the same size to N sockets
 *   - audit write throughput with the stream on (100 over 10 agents, 100 and 1,000 receiving everything)
 *     and off: the same writers, stream-off and stream-on segments alternating, each "on" divided by the
 *     mean of the "off" segments on either side (drift on a shared VM would otherwise count for or
 *     against the stream), with the CPU of the server, PostgreSQL, the clients and everything else, the
 *     share of the time the feed spent delivering, and how far behind the stream was when the writes
 *     stopped (frames still to deliver, and how long until the last arrived)
 *   - memory per idle subscriber; a burst of 10,000 entries at once; memory after 10,000
 *     connect/subscribe/disconnect cycles
 *
 *   npx tsx test/bench/stream.bench.ts [--seconds 10] [--rate 200]
 *     [--only memory,latency,reach,throughput,burst,cycles] [--scenario 1,2,3]   (subsets, for iterating)
 *     [--rounds 3] [--segment-seconds 4] [--writers 8]                             (throughput)
 *     [--writer single|proxy]   single (default): each writer a closed loop of single-row inserts, its
 *                               own transaction each; proxy: that many concurrent callers through one
 *                               AuditWriter, the proxy's group commit (what POST /mcp writes with);
 *                               mcp: that many agents' clients calling tools through the server's own
 *                               proxy (POST /mcp, decided, audited, forwarded to a lean upstream MCP
 *                               server), from a separate load-generator process: the product's write path
 *   BENCH_PROFILE=DIR writes a CPU profile of the server process for each throughput segment to DIR;
 *   BENCH_STREAM='{"maxCoalesceMs":50}' overrides the feed's options (AppConfig.stream).
 *   Diagnostics: BENCH_PGSAMPLE=1 samples where the writers' PostgreSQL backends are (waiting for the
 *   audit lock, running, idle) during each throughput segment; BENCH_CLIENT_NICE=19 runs the client
 *   process at the lowest CPU priority.
 *
 * The server runs in this process; the clients run in a child process (this file with --client), so
 * client work does not share the server's event loop and the server's memory figures are its own.
 * BENCH_DATABASE_URL's server (default postgres://postgres@127.0.0.1:5432/test) gets a scratch database,
 * created, migrated and dropped.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import http, { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay, performance as perf } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import pg from 'pg';
import WebSocket, { WebSocketServer } from 'ws';
import { AuditWriter, committedStatement, createLogger, Secrets, suffixOf, type AuditRowToWrite } from '@wicket/core';
import { connectorOf, findDemoCatalog } from '@wicket/upstream-demo';
import { createDatabase, migrateToLatest, repo, type Database, type NewAuditEntryRow } from '@wicket/db';
import { buildApp, type App } from '../../apps/server/src/app.ts';
import { auditRowToWrite } from '../support/factories.ts';
import { startLeanUpstream } from './support/lean-upstream.ts';
import { percentile, postgresCpuMs, startProfiler } from './support/measure.ts';

const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const NODE_ID = '"node":{"id":"';
/** The entry id of a `next` frame of the subscription below (fields come in selection order). */
function entryIdOf(frame: string): string | undefined {
  const at = frame.indexOf(NODE_ID);
  // Copied, not sliced: a V8 substring would keep the whole frame alive as long as the id.
  return at >= 0 && frame.includes('"type":"next"') ? (' ' + frame.substr(at + NODE_ID.length, 36)).slice(1) : undefined;
}
const SUBSCRIPTION = 'subscription($f: AuditFilter) { auditEntryAdded(filter: $f) { cursor node { id timestamp agentName service tool decision reason } } }';

// ---------------------------------------------------------------------------------------------------
// Client process: raw graphql-transport-ws sockets (the protocol, without a client library's overhead)

interface OpenCmd {
  cmd: 'open';
  url: string;
  tokens: string[];
  count: number;
  /** per socket i, the filter of its one subscription */
  filters: Record<string, unknown>[];
}
type ClientCmd =
  | OpenCmd
  | { cmd: 'openPlain'; url: string; count: number }
  | { cmd: 'collect'; commits: [string, number][] }
  | { cmd: 'counts' }
  | { cmd: 'closeAll' }
  | { cmd: 'cycles'; url: string; tokens: string[]; total: number; concurrency: number };

function runClient(): void {
  const sockets: WebSocket[] = [];
  let receipts = new Map<string, number[]>();
  let delivered = 0;
  const reply = (msg: unknown) => process.send!(msg);

  // The entry id is read straight from the frame: a full JSON.parse per message would make this one
  // client process, not the server, the bottleneck at 1,000 sockets.
  const record = (data: WebSocket.RawData) => {
    const t = now();
    const text = String(data);
    const id = entryIdOf(text);
    if (!id) return JSON.parse(text);
    delivered++;
    const list = receipts.get(id);
    if (list) list.push(t);
    else receipts.set(id, [t]);
    return { type: 'next' };
  };

  const openGraphql = (url: string, token: string, filter: Record<string, unknown>, onNext = true) =>
    new Promise<WebSocket>((resolve, reject) => {
      const sock = new WebSocket(url, 'graphql-transport-ws');
      sock.once('error', reject);
      sock.on('open', () => sock.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })));
      sock.on('message', (data) => {
        const msg = onNext ? record(data) : JSON.parse(String(data));
        if (msg.type === 'connection_ack') {
          sock.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: SUBSCRIPTION, variables: { f: filter } } }));
          resolve(sock);
        }
      });
      sock.on('close', (code) => {
        if (code !== 1000 && code !== 1001 && code !== 1005) reject(new Error(`closed ${code}`));
      });
    });

  process.on('message', async (cmd: ClientCmd) => {
    if (cmd.cmd === 'open') {
      const batch = 50;
      for (let i = 0; i < cmd.count; i += batch) {
        const opened = await Promise.all(
          Array.from({ length: Math.min(batch, cmd.count - i) }, (_, k) => openGraphql(cmd.url, cmd.tokens[(i + k) % cmd.tokens.length], cmd.filters[(i + k) % cmd.filters.length])),
        );
        sockets.push(...opened);
      }
      reply({ ok: true, open: sockets.length });
    } else if (cmd.cmd === 'openPlain') {
      for (let i = 0; i < cmd.count; i++) {
        const sock = await new Promise<WebSocket>((resolve, reject) => {
          const s = new WebSocket(cmd.url);
          s.once('error', reject);
          s.once('open', () => resolve(s));
        });
        sock.on('message', (data) => record(data));
        sockets.push(sock);
      }
      reply({ ok: true, open: sockets.length });
    } else if (cmd.cmd === 'counts') {
      const u = process.cpuUsage();
      reply({ delivered, entries: receipts.size, cpuMs: (u.user + u.system) / 1000 });
    } else if (cmd.cmd === 'collect') {
      const commits = new Map(cmd.commits);
      const latencies: number[] = [];
      const reachAll: { id: string; count: number; first: number; last: number }[] = [];
      for (const [id, times] of receipts) {
        const c = commits.get(id);
        if (c === undefined) continue;
        let last = 0;
        let first = Infinity;
        for (const t of times) {
          latencies.push(t - c);
          if (t > last) last = t;
          if (t < first) first = t;
        }
        reachAll.push({ id, count: times.length, first: first - c, last: last - c });
      }
      reply({ delivered, latencies, reachAll });
      receipts = new Map();
      delivered = 0;
    } else if (cmd.cmd === 'closeAll') {
      await Promise.all(
        sockets.splice(0).map(
          (s) =>
            new Promise<void>((resolve) => {
              if (s.readyState === s.CLOSED) return resolve();
              s.once('close', () => resolve());
              s.close(1000);
            }),
        ),
      );
      receipts = new Map();
      delivered = 0;
      reply({ ok: true });
    } else if (cmd.cmd === 'cycles') {
      let started = 0;
      let failures = 0;
      const worker = async () => {
        while (started < cmd.total) {
          const i = started++;
          try {
            const sock = await openGraphql(cmd.url, cmd.tokens[i % cmd.tokens.length], i % 3 ? {} : { result: 'DENY' }, false);
            await sleep(Math.random() * 10);
            // Half leave politely, half vanish (no close frame).
            if (i % 2) {
              await new Promise<void>((resolve) => {
                sock.once('close', () => resolve());
                sock.close(1000);
              });
            } else sock.terminate();
          } catch {
            failures++;
          }
        }
      };
      await Promise.all(Array.from({ length: cmd.concurrency }, worker));
      reply({ ok: true, failures });
    }
  });
  reply({ ready: true });
}

/** A child process running this file in another role, asked one command at a time (one reply each). */
class BenchChild<Cmd extends object> {
  private pending: ((m: any) => void) | undefined;
  protected constructor(private readonly child: ChildProcess) {
    child.on('message', (m) => {
      const p = this.pending;
      this.pending = undefined;
      p?.(m);
    });
  }
  /** Forks this file with `role` and waits for its first message (it is ready). */
  protected static async fork<Ready = unknown>(role: string): Promise<{ child: ChildProcess; ready: Ready }> {
    const child = fork(fileURLToPath(import.meta.url), [role], { execArgv: process.execArgv, stdio: 'inherit' });
    const ready = await new Promise<Ready>((resolve) => child.once('message', resolve as (m: unknown) => void));
    return { child, ready };
  }
  ask<T = any>(cmd: Cmd): Promise<T> {
    return new Promise<T>((resolve) => {
      this.pending = resolve;
      this.child.send(cmd);
    });
  }
  stop(): void {
    this.child.kill();
  }
}

// ---------------------------------------------------------------------------------------------------
// Traffic process (--writer mcp): a lean upstream MCP server and the agents' clients calling through the
// proxy, so neither shares the server's event loop (their CPU counts as "other").

type TrafficCmd = { cmd: 'run'; url: string; keys: string[]; concurrency: number; seconds: number };
const UPSTREAM_AUTHORIZATION = 'Bearer ghu_benchstream0000000000000000000001';

async function runTraffic(): Promise<void> {
  const upstream = await startLeanUpstream({ catalog: findDemoCatalog('github')!, expectedAuthorization: UPSTREAM_AUTHORIZATION });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1024 });
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'github__list_repositories', arguments: { owner: 'acme' } } });
  // One tools/call through POST /mcp: 'ok' when the upstream's result came back (the call was allowed, and
  // its entry committed before it was forwarded), else what came back instead.
  const call = (url: string, key: string) =>
    new Promise<string>((resolve) => {
      const req = http.request(`${url}/mcp`, {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${key}`, 'content-length': String(Buffer.byteLength(body)) },
      });
      req.on('error', (error: NodeJS.ErrnoException) => resolve(`client: ${error.code ?? error.message}`));
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            const answer = JSON.parse(Buffer.concat(chunks).toString()) as { result?: { isError?: boolean }; error?: { message?: string } };
            resolve(res.statusCode === 200 && answer.result && !answer.result.isError ? 'ok' : `${res.statusCode}: ${answer.error?.message ?? 'tool error'}`);
          } catch {
            resolve(`${res.statusCode}: not JSON`);
          }
        });
      });
      req.end(body);
    });
  process.on('message', async (cmd: TrafficCmd) => {
    const until = performance.now() + cmd.seconds * 1000;
    let ok = 0;
    let next = 0;
    const failures: Record<string, number> = {};
    await Promise.all(
      Array.from({ length: cmd.concurrency }, async () => {
        while (performance.now() < until) {
          const outcome = await call(cmd.url, cmd.keys[next++ % cmd.keys.length]);
          if (outcome === 'ok') ok++;
          else failures[outcome] = (failures[outcome] ?? 0) + 1;
        }
      }),
    );
    process.send!({ ok, failures });
  });
  process.send!({ ready: true, upstreamUrl: upstream.url });
}

class Traffic extends BenchChild<TrafficCmd> {
  private constructor(
    child: ChildProcess,
    readonly upstreamUrl: string,
  ) {
    super(child);
  }
  static async start(): Promise<Traffic> {
    const { child, ready } = await BenchChild.fork<{ upstreamUrl: string }>('--traffic');
    return new Traffic(child, ready.upstreamUrl);
  }
}

// ---------------------------------------------------------------------------------------------------
// Server process

class Clients extends BenchChild<ClientCmd> {
  static async start(): Promise<Clients> {
    const { child } = await BenchChild.fork('--client');
    // BENCH_CLIENT_NICE=19: the client process at a lower CPU priority (a diagnostic: how much of the
    // stream's cost to the writers is the clients' CPU on the same cores).
    if (process.env.BENCH_CLIENT_NICE) (await import('node:os')).setPriority(child.pid!, Number(process.env.BENCH_CLIENT_NICE));
    return new Clients(child);
  }
}

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: { seconds: { type: 'string', default: '10' }, rate: { type: 'string', default: '200' }, rounds: { type: 'string', default: '3' }, writers: { type: 'string', default: '8' }, writer: { type: 'string', default: 'single' }, 'segment-seconds': { type: 'string', default: '4' }, only: { type: 'string' }, scenario: { type: 'string' }, client: { type: 'boolean' }, traffic: { type: 'boolean' } },
  });
  const run = (section: string) => !args.only || args.only.split(',').includes(section);
  if (!['single', 'proxy', 'mcp'].includes(args.writer!)) throw new Error(`--writer must be single, proxy or mcp, not "${args.writer}"`);
  const SECONDS = Number(args.seconds);
  const RATE = Number(args.rate);
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const heapMB = () => {
    gc();
    gc();
    return process.memoryUsage().heapUsed / 1048576;
  };

  const base = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const scratch = `wicket_bench_stream_${process.pid}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`create database ${scratch}`);
  const url = Object.assign(new URL(base), { pathname: `/${scratch}` }).toString();
  let database: Database | undefined;
  let app: App | undefined;
  let clients: Clients | undefined;
  let trafficProcess: Traffic | undefined;
  const print = (line: string) => console.log(line);

  try {
    database = await createDatabase({ url, poolSize: 20 });
    await migrateToLatest(database.db);
    const db = database.db;

    // 10 agents; 60 owner accounts that each own all of them (one visibility: one group per filter).
    const secrets = new Secrets('bench-secret-0123456789abcdef');
    const agents: { id: string; name: string }[] = [];
    for (let i = 0; i < 10; i++) agents.push(await repo.insertAgent(db, { name: `bench-agent-${i}`, createdBy: null }));
    const tokens: string[] = [];
    for (let i = 0; i < 60; i++) {
      const account = await repo.insertAccount(db, { email: `bench${i}@example.com`, name: `Bench ${i}` });
      for (const a of agents) await repo.insertMember(db, { agentId: a.id, accountId: account.id, role: 'owner', status: 'approved', displayName: 'Owner', email: account.email });
      const token = `wkt_bench_${randomUUID().replace(/-/g, '')}`;
      await repo.insertApiToken(db, { accountId: account.id, name: 'bench', digest: secrets.digest(token), suffix: suffixOf(token) });
      tokens.push(token);
    }

    // BENCH_STREAM='{"maxCoalesceMs":50}' overrides feed options (AppConfig.stream), for experiments.
    const streamOptions = process.env.BENCH_STREAM ? JSON.parse(process.env.BENCH_STREAM) : undefined;
    app = buildApp({ database, logger: createLogger({ level: 'warn' }), serverSecret: 'bench-secret-0123456789abcdef', stream: streamOptions, proxy: { rateLimit: false } });
    const { url: httpUrl } = await app.start(0);
    const wsUrl = `${httpUrl.replace('http', 'ws')}/graphql`;
    clients = await Clients.start();
    const core = app.core;
    const stats = () => app!.streamStats();
    const waitStats = async (ok: () => boolean, what: string) => {
      const deadline = Date.now() + 60_000;
      while (!ok()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(stats())}`);
        await sleep(20);
      }
    };

    let n = 0;
    const row = (agent = agents[n % agents.length]): NewAuditEntryRow => {
      n++;
      return {
        agent_id: agent.id,
        agent_name: agent.name,
        service: n % 3 ? 'github' : 'slack',
        tool: n % 5 ? 'list_repositories' : 'delete_file',
        decision: n % 4 ? 'ALLOW' : 'DENY',
        reason: 'bench',
        tool_args: '{"repo":"acme/api"}',
        matched_policies: '[]',
      } as NewAuditEntryRow;
    };
    const commits = new Map<string, number>();
    // Server side: when each frame of an entry is handed to the kernel (before the client process,
    // which shares the machine's CPUs with the server). Watched at the TCP socket: the lean path writes
    // a turn's frames as one buffer, the ordinary path through ws.send.
    let sent: [string, number][] = [];
    let trackSends = false;
    /** Writes to the kernel by the process's sockets (each a write or writev syscall). */
    let socketWrites = 0;
    const NODE_ID_BYTES = Buffer.from(NODE_ID);
    const trackChunk = (chunk: unknown, t: number) => {
      if (typeof chunk === 'string') {
        const id = entryIdOf(chunk);
        if (id) sent.push([id, t]);
      } else if (Buffer.isBuffer(chunk)) {
        for (let at = chunk.indexOf(NODE_ID_BYTES); at >= 0; at = chunk.indexOf(NODE_ID_BYTES, at + 1)) {
          sent.push([chunk.toString('latin1', at + NODE_ID_BYTES.length, at + NODE_ID_BYTES.length + 36), t]);
        }
      }
    };
    {
      const net = await import('node:net');
      const proto = net.Socket.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
      const write = proto._write;
      const writev = proto._writev;
      proto._write = function (this: unknown, ...a: unknown[]) {
        socketWrites++;
        if (trackSends) trackChunk(a[0], now());
        return write.apply(this, a);
      };
      proto._writev = function (this: unknown, ...a: unknown[]) {
        socketWrites++;
        if (trackSends) {
          const t = now();
          for (const c of a[0] as { chunk: unknown }[]) trackChunk(c.chunk, t);
        }
        return writev.apply(this, a);
      };
    }
    /** One entry, committed (returned as stored), then the in-process wake-up with its row: what the proxy does per call. */
    const writeOne = async (r = row()) => {
      const stored = await db.insertInto('audit_entries').values([r]).returningAll().execute();
      const t = now();
      commits.set(stored[0].id, t);
      core.events.emit('audit.committed', committedStatement(stored));
      return stored[0];
    };
    /** Writes at `rate` per second for `seconds`, up to 16 inserts in flight. */
    const writeAtRate = async (rate: number, seconds: number) => {
      const start = performance.now();
      const total = Math.round(rate * seconds);
      const inflight = new Set<Promise<unknown>>();
      for (let i = 0; i < total; i++) {
        const due = start + (i * 1000) / rate;
        const wait = due - performance.now();
        if (wait > 1) await sleep(wait);
        while (inflight.size >= 16) await Promise.race(inflight);
        const p = writeOne().finally(() => inflight.delete(p));
        inflight.add(p);
      }
      await Promise.all(inflight);
      return total;
    };
    const collect = async () => {
      const r = await clients!.ask<{ delivered: number; latencies: number[]; reachAll: { count: number; first: number; last: number }[] }>({ cmd: 'collect', commits: [...commits] });
      const serverLatencies: number[] = [];
      for (const [id, t] of sent) {
        const c = commits.get(id);
        if (c !== undefined) serverLatencies.push(t - c);
      }
      sent = [];
      commits.clear();
      return { ...r, serverLatencies };
    };
    const ms = (v: number) => `${v.toFixed(v < 10 ? 2 : 1)} ms`;
    const cpu = () => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1000;
    };

    print(`\nLive stream benchmark — PostgreSQL ${(await admin.query('show server_version')).rows[0].server_version}, Node ${process.version}, ${(await import('node:os')).cpus().length} CPUs, load average ${(await import('node:os')).loadavg()[0].toFixed(1)} at start`);

    // --- memory per idle subscriber ------------------------------------------------------------------
    if (run('memory')) {
      const heap0 = heapMB();
      const rss0 = process.memoryUsage().rss / 1048576;
      await clients.ask({ cmd: 'open', url: wsUrl, tokens, count: 1000, filters: [{}] });
      await waitStats(() => stats().feed.subscribers === 1000, '1000 subscribers');
      await sleep(500);
      const heap1 = heapMB();
      const rss1 = process.memoryUsage().rss / 1048576;
      print(`\nIdle subscribers: 1,000 sockets x 1 subscription, ${stats().feed.groups} group`);
      print(`  server heap +${(heap1 - heap0).toFixed(1)} MB (${(((heap1 - heap0) * 1024) / 1000).toFixed(1)} KB per subscriber), RSS +${(rss1 - rss0).toFixed(0)} MB`);
      await clients.ask({ cmd: 'closeAll' });
      await waitStats(() => stats().feed.subscribers === 0 && stats().ws!.sockets === 0, 'idle');
    }

    // --- latency at a steady write rate -------------------------------------------------------------
    if (run('latency')) {
      print(`\nCommit-to-delivery latency, ${RATE} entries/s for ${SECONDS} s (each: one insert + audit.committed)`);
      print('  commit -> frame handed to the socket (server) and -> received by the client process (end to end)');
      print('  subscribers                        | deliveries/s | server p50 | server p99 | e2e p50   | e2e p99   | e2e max   | server CPU | loop p99');
      const scenarios: { label: string; count: number; filters: Record<string, unknown>[] }[] = [
        { label: '100, all see every entry', count: 100, filters: [{}] },
        { label: '1,000 over 10 agents (10 groups)', count: 1000, filters: agents.map((a) => ({ agentId: a.id })) },
        { label: '1,000, all see every entry', count: 1000, filters: [{}] },
      ];
      const loop = monitorEventLoopDelay({ resolution: 5 });
      trackSends = true;
      for (const s of scenarios.filter((_, i) => !args.scenario || args.scenario.split(',').includes(String(i + 1)))) {
        await clients.ask({ cmd: 'open', url: wsUrl, tokens, count: s.count, filters: s.filters });
        await waitStats(() => stats().feed.subscribers === s.count, `${s.count} subscribers`);
        const warm = await writeAtRate(RATE, 1); // warm-up
        const perEntry = s.filters.length === 1 ? s.count : s.count / s.filters.length;
        // Wait for the warm-up's frames to arrive, so none of them count as the measurement's.
        const warmDeadline = Date.now() + 60_000;
        while ((await clients.ask<{ delivered: number }>({ cmd: 'counts' })).delivered < warm * perEntry && Date.now() < warmDeadline) await sleep(100);
        await sleep(200);
        await collect();
        loop.reset();
        loop.enable();
        const cpu0 = cpu();
        const elu0 = perf.eventLoopUtilization();
        const d0 = stats().feed.deliveryMs;
        const b0 = stats().feed.budgetedRuns;
        const f0 = stats().feed.freeRuns;
        const t0 = performance.now();
        const written = await writeAtRate(RATE, SECONDS);
        const eluW = perf.eventLoopUtilization(elu0).utilization;
        const deliveryW = (stats().feed.deliveryMs - d0) / (performance.now() - t0);
        const budgetedW = stats().feed.budgetedRuns - b0;
        const freeW = stats().feed.freeRuns - f0;
        const expectedPerEntry = s.filters.length === 1 ? s.count : s.count / s.filters.length;
        const expected = written * expectedPerEntry;
        const deadline = Date.now() + 30_000;
        while ((await clients.ask<{ delivered: number }>({ cmd: 'counts' })).delivered < expected && Date.now() < deadline) await sleep(100);
        const wall = performance.now() - t0;
        const cpuMs = cpu() - cpu0;
        loop.disable();
        const r = await collect();
        print(
          `  ${s.label.padEnd(34)} | ${Math.round(r.delivered / SECONDS).toLocaleString('en-US').padStart(12)} | ${ms(percentile(r.serverLatencies, 50)).padEnd(10)} | ${ms(percentile(r.serverLatencies, 99)).padEnd(10)} | ${ms(percentile(r.latencies, 50)).padEnd(9)} | ${ms(percentile(r.latencies, 99)).padEnd(9)} | ${ms(r.latencies.reduce((a, b) => Math.max(a, b), 0)).padEnd(9)} | ${((cpuMs / wall) * 100).toFixed(0).padStart(8)} % | ${ms(loop.percentile(99) / 1e6)}` +
            (r.delivered !== expected ? `  (delivered ${r.delivered} of ${expected})` : '') +
            `; while writing: event loop busy ${(eluW * 100).toFixed(0)} % of the time, delivery ${(deliveryW * 100).toFixed(0)} % (${((100 * budgetedW) / Math.max(1, budgetedW + freeW)).toFixed(0)} % of its runs under the budget)`,
        );
        await clients.ask({ cmd: 'closeAll' });
        await waitStats(() => stats().feed.subscribers === 0, 'idle');
      }
      trackSends = false;
      const st = stats().ws!;
      print(`  shared execution: ${st.executions.toLocaleString('en-US')} executions and ${st.serializations.toLocaleString('en-US')} serialisations for ${(st.executions + st.reusedExecutions).toLocaleString('en-US')} deliveries`);
    }

    // --- one entry to all N, beside a plain ws broadcast -----------------------------------------------
    if (run('reach')) {
      for (const N of [100, 1000]) {
        await clients.ask({ cmd: 'open', url: wsUrl, tokens, count: N, filters: [{}] });
        await waitStats(() => stats().feed.subscribers === N, `${N} subscribers`);
        const reach: number[] = [];
        const firstReach: number[] = [];
        // Server side: the entry's first and last frame handed to the kernel, after the commit.
        const serverFirst: number[] = [];
        const serverLast: number[] = [];
        let frameBytes = 0;
        for (let i = 0; i < 20; i++) {
          sent = [];
          trackSends = true;
          const e0 = await writeOne();
          await sleep(300);
          trackSends = false;
          const writes = sent.filter(([id]) => id === e0.id).map(([, t]) => t - commits.get(e0.id)!);
          if (writes.length) {
            serverFirst.push(Math.min(...writes));
            serverLast.push(Math.max(...writes));
          }
          const r = await collect();
          const e = r.reachAll[0];
          if (e && e.count === N) {
            reach.push(e.last);
            firstReach.push(e.first);
          }
        }
        await clients.ask({ cmd: 'closeAll' });
        await waitStats(() => stats().feed.subscribers === 0 && stats().ws!.sockets === 0, 'idle');
        const plain = createServer();
        const wss = new WebSocketServer({ server: plain });
        await new Promise<void>((r) => plain.listen(0, '127.0.0.1', () => r()));
        await clients.ask({ cmd: 'openPlain', url: `ws://127.0.0.1:${(plain.address() as AddressInfo).port}`, count: N });
        const plainReach: number[] = [];
        for (let i = 0; i < 20; i++) {
          const id = randomUUID();
          // The shape and size of the frame a subscriber of the live stream receives.
          const frame = JSON.stringify({ id: '1', type: 'next', payload: { data: { auditEntryAdded: { cursor: 'x'.repeat(80), node: { id, timestamp: new Date().toISOString(), agentName: 'bench-agent-0', service: 'github', tool: 'list_repositories', decision: 'ALLOW', reason: 'bench' } } } } });
          frameBytes = frame.length;
          const t = now();
          commits.set(id, t);
          for (const c of wss.clients) c.send(frame);
          await sleep(300);
          const r = await collect();
          if (r.reachAll[0]?.count === N) plainReach.push(r.reachAll[0].last);
        }
        await clients.ask({ cmd: 'closeAll' });
        wss.close();
        plain.close();
        const ratio = percentile(reach, 50) / percentile(plainReach, 50);
        print(`\nOne entry to all ${N.toLocaleString('en-US')} subscribers (20 entries, one at a time; frames of about ${frameBytes} bytes)`);
        print(`  live stream (commit -> last socket has it): median ${ms(percentile(reach, 50))}, p90 ${ms(percentile(reach, 90))}; first socket after ${ms(percentile(firstReach, 50))}`);
        print(`    server: first frame to the kernel ${ms(percentile(serverFirst, 50))}, last ${ms(percentile(serverLast, 50))} after the commit (medians)`);
        print(`  plain ws broadcast of a pre-serialised frame (send -> last socket): median ${ms(percentile(plainReach, 50))}, p90 ${ms(percentile(plainReach, 90))}`);
        print(`  ${ratio.toFixed(1)}x the plain broadcast (medians; ${reach.length} and ${plainReach.length} of 20 entries reached all ${N})`);
      }
    }

    // --- write throughput with the stream on and off --------------------------------------------------
    // The same 8 writers doing the same work (one single-row insert + audit.committed each), as fast as
    // they go, 5 s per measurement. Stream-off measurements are interleaved with the stream-on ones
    // (off, on, off, on, ...) and each "on" is compared with the mean of the two "off" runs around it, so
    // drift (table growth, autovacuum, other load on the VM) does not count for or against the stream.
    if (run('throughput')) {
      const WRITERS = Number(args.writers);
      // --writer proxy: the callers share one AuditWriter, as the proxy's calls do (it emits audit.committed
      // with the batch's rows itself); --writer single: each writer inserts one row per transaction.
      const groupWriter = args.writer === 'proxy' ? new AuditWriter(db, core.events, createLogger({ level: 'silent' })) : undefined;
      const fullRow = (): AuditRowToWrite => {
        const r = row() as Record<string, unknown>;
        return auditRowToWrite({ id: r.agent_id as string, name: r.agent_name as string }, {
          service: r.service as string,
          tool: r.tool as string,
          tool_args: r.tool_args as string,
          decision: r.decision as 'ALLOW' | 'DENY',
          reason: r.reason as string,
        });
      };
      const writeForThroughput = groupWriter ? () => groupWriter.write(fullRow()) : () => writeOne();
      // --writer mcp: the agents' clients call tools through the server's proxy from another process, one
      // member key per agent, against a lean upstream in that process (GitHub's demo catalog).
      let mcp: { traffic: Traffic; keys: string[] } | undefined;
      if (args.writer === 'mcp') {
        const traffic = await Traffic.start();
        trafficProcess = traffic;
        await core.connectors.upsert(connectorOf(findDemoCatalog('github')!, { upstreamUrl: traffic.upstreamUrl, credentials: UPSTREAM_AUTHORIZATION.slice('Bearer '.length) }));
        const keys: string[] = [];
        for (const [i, a] of agents.entries()) {
          await repo.enableAgentService(db, a.id, 'github');
          const member = (await repo.listMembers(db, { agentIds: [a.id] }))[0];
          const key = core.secrets.generate('wk_', 32);
          await repo.insertMemberKey(db, { memberId: member.id, keyId: `mk_bench${i}`, digest: core.secrets.digest(key), suffix: key.slice(-4) });
          keys.push(key);
        }
        mcp = { traffic, keys };
      }
      const mcpFailures: Record<string, number> = {};
      const profileDir = process.env.BENCH_PROFILE;
      const profiler = profileDir ? await startProfiler() : undefined;
      const clientCpu = async () => (await clients!.ask<{ cpuMs: number }>({ cmd: 'counts' })).cpuMs;
      const { readFileSync } = await import('node:fs');
      // The whole machine (/proc/stat: busy jiffies of all CPUs), in CPU-ms; PostgreSQL's processes: postgresCpuMs.
      const machineCpu = () => {
        try {
          const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
          return (f.reduce((a, b) => a + b, 0) - f[3] - f[4]) * 10;
        } catch {
          return NaN;
        }
      };
      const measure = async (seconds: number, label?: string) => {
        const s0 = stats();
        const w0 = socketWrites;
        const c0 = await clientCpu();
        const m0 = machineCpu();
        const p0 = postgresCpuMs();
        await profiler?.start();
        // BENCH_PGSAMPLE=1 (a diagnostic): every 20 ms, where the writers' backends are: waiting for the
        // audit lock, running, or idle (waiting for this process to send the next insert).
        const pgSample = { samples: 0, lock: 0, running: 0, idle: 0 };
        let sampling = !!process.env.BENCH_PGSAMPLE;
        const sampler = sampling
          ? (async () => {
              while (sampling) {
                const r = await admin.query(
                  `select count(*) filter (where state = 'active' and wait_event = 'advisory') as lock, count(*) filter (where state = 'active' and wait_event is distinct from 'advisory') as running, count(*) filter (where state = 'idle') as idle from pg_stat_activity where datname = '${scratch}' and query like 'insert into "audit_entries"%'`,
                );
                pgSample.samples++;
                pgSample.lock += Number(r.rows[0].lock);
                pgSample.running += Number(r.rows[0].running);
                pgSample.idle += Number(r.rows[0].idle);
                await sleep(20);
              }
            })()
          : undefined;
        const loopDelay = monitorEventLoopDelay({ resolution: 1 });
        loopDelay.enable();
        const cpu0 = cpu();
        const elu0 = perf.eventLoopUtilization();
        const t0 = performance.now();
        const until = t0 + seconds * 1000;
        let count = 0;
        if (mcp) {
          const r = await mcp.traffic.ask<{ ok: number; failures: Record<string, number> }>({ cmd: 'run', url: httpUrl, keys: mcp.keys, concurrency: WRITERS, seconds });
          count = r.ok;
          for (const [k, v] of Object.entries(r.failures)) mcpFailures[k] = (mcpFailures[k] ?? 0) + v;
        } else {
          await Promise.all(
            Array.from({ length: WRITERS }, async () => {
              while (performance.now() < until) {
                await writeForThroughput();
                count++;
              }
            }),
          );
        }
        const wall = performance.now() - t0;
        const elu = perf.eventLoopUtilization(elu0).utilization;
        sampling = false;
        await sampler;
        if (pgSample.samples) print(`      [pg sample ${label}] writers' backends on average: ${(pgSample.lock / pgSample.samples).toFixed(2)} waiting for the lock, ${(pgSample.running / pgSample.samples).toFixed(2)} running, ${(pgSample.idle / pgSample.samples).toFixed(2)} idle (waiting for this process)`);
        const serverCpu = (cpu() - cpu0) / wall;
        const machine = (machineCpu() - m0) / wall;
        const postgres = (postgresCpuMs() - p0) / wall;
        loopDelay.disable();
        if (profiler && label) await profiler.stop(`${profileDir}/throughput-${label}.cpuprofile`);
        const s1 = stats();
        commits.clear();
        return {
          count,
          rate: (count * 1000) / wall,
          serverCpu,
          deliveryShare: (s1.feed.deliveryMs - s0.feed.deliveryMs) / wall,
          deliveryWaits: s1.feed.deliveryWaits - s0.feed.deliveryWaits,
          saturatedWindows: s1.feed.saturatedWindows - s0.feed.saturatedWindows,
          budgetedShare: (s1.feed.budgetedRuns - s0.feed.budgetedRuns) / Math.max(1, s1.feed.budgetedRuns - s0.feed.budgetedRuns + s1.feed.freeRuns - s0.feed.freeRuns),
          maxQueued: s1.feed.maxQueued,
          clientCpu: ((await clientCpu()) - c0) / wall,
          socketWrites: ((socketWrites - w0) * 1000) / wall,
          groupReads: ((s1.feed.groupReads - s0.feed.groupReads) * 1000) / wall,
          ticks: ((s1.feed.ticks - s0.feed.ticks) * 1000) / wall,
          coalesceMs: s1.feed.coalesceMs,
          socketWriteBusy: (s1.feed.socketWriteMs - s0.feed.socketWriteMs) / wall,
          machine,
          postgres,
          loopMean: loopDelay.mean / 1e6,
          loopP99: loopDelay.percentile(99) / 1e6,
          elu,
        };
      };
      const scenarios = [
        { key: 'agents', label: '100 subscribers over 10 agents (each entry to 10)', count: 100, filters: agents.map((a) => ({ agentId: a.id })) },
        { key: 'all100', label: '100 subscribers receiving every entry', count: 100, filters: [{}] },
        { key: 'all1000', label: '1,000 subscribers receiving every entry', count: 1000, filters: [{}] },
      ].filter((_, i) => !args.scenario || args.scenario.split(',').includes(String(i + 1)));
      const ROUNDS = Number(args.rounds);
      const SEG = Number(args['segment-seconds']);
      type Measured = Awaited<ReturnType<typeof measure>>;
      const results: { s: (typeof scenarios)[number]; rounds: { on: Measured; before: Measured; after: Measured; delivered: number; behind: number; caughtUpS: number }[] }[] = [];
      await measure(1); // warm-up
      let off = await measure(SEG, 'off-0');
      for (const s of scenarios) {
        const rounds: (typeof results)[number]['rounds'] = [];
        for (let round = 0; round < ROUNDS; round++) {
          await clients!.ask({ cmd: 'open', url: wsUrl, tokens, count: s.count, filters: s.filters });
          await waitStats(() => stats().feed.subscribers === s.count, `${s.count} subscribers`);
          await sleep(300);
          const d0 = (await clients!.ask<{ delivered: number }>({ cmd: 'counts' })).delivered;
          const on = await measure(SEG, `${s.key}-${round}`);
          const { delivered } = await clients!.ask<{ delivered: number }>({ cmd: 'counts' });
          // The lag when the writes stop: frames still to deliver, and how long until the last arrives.
          const expected = on.count * (s.count / s.filters.length);
          const behind = expected - (delivered - d0);
          const w0 = performance.now();
          const lagDeadline = Date.now() + 120_000;
          while ((await clients!.ask<{ delivered: number }>({ cmd: 'counts' })).delivered - d0 < expected && Date.now() < lagDeadline) await sleep(20);
          const caughtUpS = (performance.now() - w0) / 1000;
          await clients!.ask({ cmd: 'closeAll' });
          await waitStats(() => stats().feed.subscribers === 0 && stats().ws!.sockets === 0, 'idle');
          await sleep(300);
          const after = await measure(SEG, `off-after-${s.key}-${round}`);
          rounds.push({ on, before: off, after, delivered: (delivered - d0) / SEG, behind, caughtUpS });
          off = after;
        }
        results.push({ s, rounds });
      }
      const cpus = (await import('node:os')).cpus().length;
      const pctOf = (v: number) => `${(v * 100).toFixed(0)} %`;
      const line = (r: Measured) =>
        `CPU server ${pctOf(r.serverCpu)}, PostgreSQL ${pctOf(r.postgres)}, clients ${pctOf(r.clientCpu)}, other ${pctOf(Math.max(0, r.machine - r.serverCpu - r.postgres - r.clientCpu))} (machine ${pctOf(r.machine)} of ${cpus * 100} %); loop delay mean ${r.loopMean.toFixed(1)} ms, p99 ${r.loopP99.toFixed(1)} ms, busy ${pctOf(r.elu)}; ${Math.round(r.socketWrites).toLocaleString('en-US')} socket writes/s; ${Math.round(r.ticks)} read passes/s (window ${r.coalesceMs.toFixed(0)} ms; stream socket writes take ${pctOf(r.socketWriteBusy)} of the time), ${Math.round(r.groupReads)} group reads/s`;
      print(
        mcp
          ? `\nAudit write throughput: ${WRITERS} agents' clients (another process) calling a tool through POST /mcp as fast as they go (decided, audited, forwarded to a lean upstream), ${SEG} s segments,`
          : groupWriter
            ? `\nAudit write throughput: ${WRITERS} callers as fast as they go through one AuditWriter (the proxy's group commit), ${SEG} s segments,`
            : `\nAudit write throughput: ${WRITERS} writers as fast as they go (one single-row insert + audit.committed each), ${SEG} s segments,`,
      );
      if (Object.keys(mcpFailures).length) print(`  calls that did not return the tool's result (not counted): ${JSON.stringify(mcpFailures)}`);
      print(`stream off and on alternating (${ROUNDS} rounds per row); each "on" is divided by the mean of the two "off" segments around it`);
      const median = (xs: number[]) => percentile(xs, 50);
      for (const { s, rounds } of results) {
        const ratios = rounds.map((r) => r.on.rate / ((r.before.rate + r.after.rate) / 2));
        const offRates = rounds.flatMap((r) => [r.before.rate, r.after.rate]);
        print(`  ${s.label}: median ${median(ratios).toFixed(2)}x (rounds ${ratios.map((x) => x.toFixed(2)).join(', ')}); ${Math.round(median(rounds.map((r) => r.on.rate))).toLocaleString('en-US')} entries/s on, ${Math.round(median(offRates)).toLocaleString('en-US')} off; ${Math.round(median(rounds.map((r) => r.delivered))).toLocaleString('en-US')} frames/s received`);
        for (const [i, r] of rounds.entries()) {
          print(`    round ${i + 1} on:  ${Math.round(r.on.rate).toLocaleString('en-US')} entries/s; ${line(r.on)}`);
          print(
            `      delivery ${pctOf(r.on.deliveryShare)} of the time, ${pctOf(r.on.budgetedShare)} of its runs under the budget, ${r.on.deliveryWaits} budget waits, ${r.on.saturatedWindows} saturated windows, longest queue ${r.on.maxQueued}; when the writes stopped ${Math.round(r.behind).toLocaleString('en-US')} frames (${(r.behind / (s.count / s.filters.length) / r.on.rate).toFixed(2)} s of entries) were still to deliver, the last arrived ${r.caughtUpS.toFixed(2)} s later`,
          );
          print(`    round ${i + 1} off: ${Math.round(r.after.rate).toLocaleString('en-US')} entries/s; ${line(r.after)}`);
        }
      }
      print(`  first stream-off segment: ${Math.round(results[0]?.rounds[0]?.before.rate ?? off.rate).toLocaleString('en-US')} entries/s; ${line(results[0]?.rounds[0]?.before ?? off)}`);
      await profiler?.close();
      await groupWriter?.close();
    }

    // --- a burst of 10,000 entries at once --------------------------------------------------------------
    if (run('burst')) {
      await clients.ask({ cmd: 'open', url: wsUrl, tokens, count: 100, filters: [{}] });
      await waitStats(() => stats().feed.subscribers === 100, '100 subscribers');
      const heapBefore = heapMB();
      let heapPeak = 0;
      let rssPeak = 0;
      const sampler = setInterval(() => {
        const m = process.memoryUsage();
        heapPeak = Math.max(heapPeak, m.heapUsed / 1048576);
        rssPeak = Math.max(rssPeak, m.rss / 1048576);
      }, 10);
      const b0 = performance.now();
      await Promise.all(
        Array.from({ length: 100 }, async () => {
          const rows = Array.from({ length: 100 }, () => row());
          core.events.emit('audit.committed', committedStatement(await db.insertInto('audit_entries').values(rows).returningAll().execute()));
        }),
      );
      const committedMs = performance.now() - b0;
      const deadline = Date.now() + 120_000;
      while ((await clients.ask<{ delivered: number }>({ cmd: 'counts' })).delivered < 1_000_000 && Date.now() < deadline) await sleep(50);
      const burstMs = performance.now() - b0;
      clearInterval(sampler);
      const delivered = (await clients.ask<{ delivered: number }>({ cmd: 'counts' })).delivered;
      await collect();
      print(`\nBurst: 10,000 entries committed at once (100 concurrent inserts of 100) with 100 subscribers`);
      print(
        `  committed in ${ms(committedMs)}; all ${delivered.toLocaleString('en-US')} deliveries done ${ms(burstMs)} after the first insert; server heap ${heapBefore.toFixed(0)} MB before, peak ${heapPeak.toFixed(0)} MB; RSS peak ${rssPeak.toFixed(0)} MB; catch-up reads ${stats().feed.catchUpReads}`,
      );
      await clients.ask({ cmd: 'closeAll' });
      await waitStats(() => stats().feed.subscribers === 0 && stats().ws!.sockets === 0, 'idle');
    }

    // --- connect / disconnect cycles ------------------------------------------------------------------
    if (run('cycles')) {
      const heapC0 = heapMB();
      const c0 = performance.now();
      const cycles = await clients.ask<{ failures: number }>({ cmd: 'cycles', url: wsUrl, tokens, total: 10_000, concurrency: 50 });
      const cyclesSeconds = (performance.now() - c0) / 1000;
      await waitStats(() => stats().feed.subscribers === 0 && stats().ws!.sockets === 0 && stats().feed.credentialWatchers === 0, 'idle after cycles');
      await sleep(500);
      const heapC1 = heapMB();
      const s = stats();
      print(`\n10,000 connect/subscribe/disconnect cycles (50 at a time; half close, half vanish) in ${cyclesSeconds.toFixed(1)} s, ${cycles.failures} failed`);
      print(`  server heap ${heapC0.toFixed(1)} MB before, ${heapC1.toFixed(1)} MB after (${(heapC1 - heapC0 >= 0 ? '+' : '')}${(heapC1 - heapC0).toFixed(1)} MB); afterwards groups ${s.feed.groups}, subscribers ${s.feed.subscribers}, watchers ${s.feed.credentialWatchers}, sockets ${s.ws!.sockets}`);
    }
    print(`\nload average at the end: ${(await import('node:os')).loadavg().map((l) => l.toFixed(1)).join(' / ')}`);
  } finally {
    clients?.stop();
    trafficProcess?.stop();
    await app?.stop().catch(() => {});
    await database?.close().catch(() => {});
    await admin.query(`drop database if exists ${scratch} with (force)`).catch(() => {});
    await admin.end();
  }
}

if (process.argv.includes('--client')) runClient();
else if (process.argv.includes('--traffic')) void runTraffic();
else
  main().then(
    () => process.exit(0),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
