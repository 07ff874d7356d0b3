/**
 * Audit read paths on PostgreSQL with a large table: each surface (REST, GraphQL) beside the very SQL it
 * issued, re-run directly with pg in the same process, with that SQL's plan (EXPLAIN ANALYZE, BUFFERS).
 *
 *   npx tsx test/bench/audit-read.bench.ts [--entries 1000000] [--reseed] [--iterations 30] [--only policy] [--json out.json]
 *
 * BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/wicket_bench) is a scratch database:
 * created, migrated and seeded (demo + generated entries) when it holds fewer entries than asked for.
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createCore, createLogger, encodeAuditCursor } from '@wicket/core';
import { createDatabase, migrateToLatest, repo, type Database } from '@wicket/db';
import { buildApp, type App } from '../../apps/server/src/app.ts';
import { installDemo } from '../../db/seeds/demo.ts';
import { generateAuditEntries } from '../../db/seeds/generate.ts';
import { planSummary, percentile, type PlanSummary } from './support/measure.ts';

const { values: args } = parseArgs({
  options: {
    entries: { type: 'string', default: '1000000' },
    reseed: { type: 'boolean', default: false },
    iterations: { type: 'string', default: '30' },
    json: { type: 'string' },
    /** Only the cases whose name contains this text (and the unfiltered page the ratios divide by). */
    only: { type: 'string' },
  },
});
const ENTRIES = Number(args.entries);
const ITERATIONS = Number(args.iterations);
const URL_ = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/wicket_bench';
const SECRET = 'bench-secret-0123456789abcdef';
const TOKEN = 'wkt_bench_0123456789abcdef0123456789';
const BASELINE = 'unfiltered, limit 100';

// ---------------------------------------------------------------------------------------------------
// The scratch database

async function prepareDatabase(): Promise<void> {
  const target = new URL(URL_);
  const name = target.pathname.slice(1);
  const admin = new pg.Client({ connectionString: Object.assign(new URL(URL_), { pathname: '/postgres' }).toString() });
  await admin.connect();
  const exists = (await admin.query('select 1 from pg_database where datname = $1', [name])).rowCount! > 0;
  let count = 0;
  if (exists && !args.reseed) {
    const c = new pg.Client({ connectionString: URL_ });
    await c.connect();
    count = await c
      .query(`select count(*)::int as n from audit_entries`)
      .then((r) => r.rows[0].n as number)
      .catch(() => 0);
    await c.end();
  }
  if (count >= ENTRIES) {
    console.log(`using ${name}: ${count.toLocaleString('en-US')} audit entries (--reseed to rebuild)`);
    await admin.end();
    const database = await createDatabase({ url: URL_ });
    const applied = await migrateToLatest(database.db);
    if (applied.length) console.log(`migrated ${name}: ${applied.join(', ')}`);
    await database.close();
    return;
  }
  await admin.query(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`);
  await admin.query(`create database ${pg.escapeIdentifier(name)}`);
  await admin.end();

  const database = await createDatabase({ url: URL_ });
  try {
    await migrateToLatest(database.db);
    const core = createCore({ database, logger: createLogger({ level: 'silent' }), serverSecret: SECRET });
    const demo = await installDemo(core);
    const started = performance.now();
    const result = await generateAuditEntries(database.db, {
      entries: ENTRIES - demo.counts.auditEntries,
      onProgress: (done, total) => process.stdout.write(`\r  seeding ${done.toLocaleString('en-US')} / ${total.toLocaleString('en-US')}`),
    });
    console.log(
      `\nseeded ${name}: demo (${demo.counts.auditEntries} entries) + ${result.inserted.toLocaleString('en-US')} generated in ` +
        `${((performance.now() - started) / 1000).toFixed(1)} s (${result.rowsPerSecond.toLocaleString('en-US')} rows/s)`,
    );
  } finally {
    await database.close();
  }
}

// ---------------------------------------------------------------------------------------------------
// Measurement

interface Captured {
  sql: string;
  parameters: readonly unknown[];
}

interface Row {
  group: string;
  name: string;
  surface: string;
  p50: number;
  p95: number;
  sqlP50: number;
  sqlP95: number;
  rows: number;
  plans: PlanSummary[];
  ratio?: { label: string; value: number; target: number };
}

let recording: Captured[] | null = null;
const AUDIT_TABLES = /\b(audit_entries|audit_policy_matches|audit_rollups|audit_policy_rollups)\b/;

const WARMUP = 5;

/**
 * p50/p95 of each function, their runs interleaved (a, b, a, b…) so that both series see the same
 * moments of whatever else the machine is doing.
 */
async function timeIt(fns: (() => Promise<unknown>)[], iterations = ITERATIONS): Promise<{ p50: number; p95: number }[]> {
  for (let i = 0; i < WARMUP; i++) for (const fn of fns) await fn();
  const samples: number[][] = fns.map(() => []);
  for (let i = 0; i < iterations; i++) {
    for (let k = 0; k < fns.length; k++) {
      const t = performance.now();
      await fns[k]();
      samples[k].push(performance.now() - t);
    }
  }
  return samples.map((s) => ({ p50: percentile(s, 50), p95: percentile(s, 95) }));
}

async function main(): Promise<void> {
  await prepareDatabase();

  const database: Database = await createDatabase({
    url: URL_,
    log: (e) => {
      if (recording && e.level === 'query' && AUDIT_TABLES.test(e.query.sql)) recording.push({ sql: e.query.sql, parameters: e.query.parameters });
    },
  });
  const app: App = buildApp({ database, logger: createLogger({ level: 'silent' }), serverSecret: SECRET });
  const direct = new pg.Client({ connectionString: URL_ });
  await direct.connect();

  // The demo owner sees every agent: an API token for it, as a legacy script would hold.
  const owner = await app.core.db.selectFrom('accounts').select(['id']).where('email', '=', 'admin@wicket.local').executeTakeFirstOrThrow();
  if (!(await repo.findActiveApiTokenByDigest(app.core.db, app.core.secrets.digest(TOKEN)))) {
    await repo.insertApiToken(app.core.db, { accountId: owner.id, name: 'bench', digest: app.core.secrets.digest(TOKEN), suffix: TOKEN.slice(-4) });
  }
  const total = (await direct.query('select count(*)::int as n from audit_entries')).rows[0].n as number;
  const pgVersion = (await direct.query('show server_version')).rows[0].server_version as string;

  const rest = async (path: string) => {
    const res = await app.handler(new Request(`http://bench.local${path}`, { headers: { Authorization: `Bearer ${TOKEN}` } }));
    if (res.status !== 200) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return res.text();
  };
  const graphql = async (query: string, variables: Record<string, unknown>) => {
    const res = await app.handler(
      new Request('http://bench.local/graphql', {
        method: 'POST',
        headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ query, variables }),
      }),
    );
    const body = (await res.json()) as { data?: any; errors?: unknown[] };
    if (body.errors?.length) throw new Error(`GraphQL: ${JSON.stringify(body.errors)}`);
    return body.data;
  };

  /** Runs the surface once recording its audit SQL, then times the surface and that SQL replayed with pg. */
  const results: Row[] = [];
  async function measure(group: string, name: string, surface: string, call: () => Promise<unknown>, count: (r: any) => number, iterations = ITERATIONS): Promise<Row | null> {
    if (args.only && !name.includes(args.only) && name !== BASELINE) return null;
    recording = [];
    const first = await call();
    const queries = recording;
    recording = null;
    if (queries.length === 0) throw new Error(`${name}: no audit SQL was recorded`);
    const replay = async () => {
      for (const q of queries) await direct.query(q.sql, q.parameters as unknown[]);
    };
    const [surfaceTime, sqlTime] = await timeIt([call, replay], iterations);
    const plans: PlanSummary[] = [];
    for (const q of queries) {
      const r = await direct.query(`explain (analyze, buffers, format json) ${q.sql}`, q.parameters as unknown[]);
      plans.push(planSummary(r.rows[0]['QUERY PLAN']));
    }
    const row: Row = { group, name, surface, p50: surfaceTime.p50, p95: surfaceTime.p95, sqlP50: sqlTime.p50, sqlP95: sqlTime.p95, rows: count(first), plans };
    results.push(row);
    const seq = plans.some((p) => p.seqScanOnEntries) ? '  SEQ SCAN on audit_entries' : '';
    console.log(
      `${name.padEnd(46)} ${surface.padEnd(7)} p50 ${row.p50.toFixed(1).padStart(7)} ms  p95 ${row.p95.toFixed(1).padStart(7)} ms | SQL p50 ${row.sqlP50
        .toFixed(1)
        .padStart(7)} ms  p95 ${row.sqlP95.toFixed(1).padStart(7)} ms | ${String(row.rows).padStart(4)} rows | ${plans.map((p) => p.shape).join(' ; ')}${seq}`,
    );
    return row;
  }

  const restRows = (text: string) => (JSON.parse(text) as { entries: unknown[] }).entries.length;
  const csvRows = (text: string) => text.trimEnd().split('\r\n').length - 1;
  const ENTRY_FIELDS = `id timestamp agentId agentName memberId memberName memberKeyId sessionId service tool action resource callerIp toolArgs
    decision reason matchedPolicyIds matchedPolicyNames matchedPolicies { id key name version effect } policyId durationMs principal upstreamStatus upstreamError`;
  const PAGE = `query($filter: AuditFilter, $first: Int, $after: String) { auditEntries(filter: $filter, first: $first, after: $after) { edges { cursor node { ${ENTRY_FIELDS} } } pageInfo { hasNextPage endCursor } } }`;
  const gqlRows = (d: any) => d.auditEntries.edges.length;

  // Values that exist in the demo: billing-bot, one of its members, one of its policies.
  const billing = await app.core.db.selectFrom('agents').select('id').where('name', '=', 'billing-bot').executeTakeFirstOrThrow();
  const member = await app.core.db.selectFrom('members').select('id').where('agent_id', '=', billing.id).where('display_name', '=', 'Priya Raman').executeTakeFirstOrThrow();
  const policy = await app.core.db.selectFrom('policies').select('id').where('agent_id', '=', billing.id).where('key', '=', 'allow-read-tools').executeTakeFirstOrThrow();
  const now = new Date();
  const from7d = new Date(now.getTime() - 7 * 86_400_000).toISOString();
  const to = now.toISOString();

  // Other work on the machine moves every figure: the load average goes with them.
  const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');
  console.log(`\nPostgreSQL ${pgVersion}, ${total.toLocaleString('en-US')} audit entries, ${ITERATIONS} timed runs (surface and SQL interleaved) after ${WARMUP} warm-up runs, load average ${load()}\n`);

  // 1. The legacy script's page, REST beside GraphQL.
  const restDeny = await measure('page', 'result=DENY, limit 100', 'REST', () => rest('/api/audit?result=DENY&limit=100'), restRows);
  if (restDeny) restDeny.ratio = { label: 'REST / direct SQL', value: restDeny.p50 / restDeny.sqlP50, target: 2 };
  const gqlDeny = await measure('page', 'result=DENY, first 100', 'GraphQL', () => graphql(PAGE, { filter: { result: 'DENY' }, first: 100 }), gqlRows);
  if (gqlDeny && restDeny) gqlDeny.ratio = { label: 'GraphQL / REST page', value: gqlDeny.p50 / restDeny.p50, target: 1.5 };

  // 2. Keyset: the first page and one half-way down the table.
  const firstPage = await measure('keyset', 'unfiltered, first 100', 'GraphQL', () => graphql(PAGE, { first: 100 }), gqlRows);
  const mid = (await direct.query('select seq, timestamp, id from audit_entries order by timestamp desc, id desc offset $1 limit 1', [Math.floor(total / 2)])).rows[0];
  const cursor = encodeAuditCursor({ seq: Number(mid.seq), timestamp: new Date(mid.timestamp), id: mid.id });
  const halfway = await measure('keyset', 'unfiltered, 100 after the half-way cursor', 'GraphQL', () => graphql(PAGE, { first: 100, after: cursor }), gqlRows);
  if (halfway && firstPage) halfway.ratio = { label: 'half-way / first page', value: halfway.p50 / firstPage.p50, target: 1.5 };

  // 3. Every console filter combination of up to three filters, each with a 7-day range.
  const unfiltered = (await measure('filters', BASELINE, 'REST', () => rest('/api/audit?limit=100'), restRows))!;
  const filterValues: Record<string, string> = { result: 'DENY', service: 'github', tool: 'issue', agent: 'billing', member: member.id, policy: policy.id };
  const names = Object.keys(filterValues);
  const combos: string[][] = [];
  for (let size = 1; size <= 3; size++) {
    const pick = (start: number, chosen: string[]) => {
      if (chosen.length === size) return void combos.push(chosen);
      for (let i = start; i < names.length; i++) pick(i + 1, [...chosen, names[i]]);
    };
    pick(0, []);
  }
  for (const combo of combos) {
    const params = new URLSearchParams({ limit: '100', from: from7d, to });
    for (const f of combo) params.set(f, filterValues[f]);
    const r = await measure('filters', `${combo.join('+')} (7 days)`, 'REST', () => rest(`/api/audit?${params}`), restRows, Math.min(ITERATIONS, 15));
    if (r) r.ratio = { label: 'filtered / unfiltered page', value: r.p50 / unfiltered.p50, target: 5 };
  }

  // 4. Tool substring: common, rare, absent.
  for (const [label, tool] of [['common', 'issue'], ['rare', 'webhook'], ['absent', 'no_such_tool']] as const) {
    const r = await measure('tool', `tool=${tool} (${label})`, 'REST', () => rest(`/api/audit?tool=${tool}&limit=100`), restRows, Math.min(ITERATIONS, 15));
    if (r) r.ratio = { label: 'filtered / unfiltered page', value: r.p50 / unfiltered.p50, target: 5 };
  }

  // 5. A 500-row CSV export page.
  await measure('export', 'export, 500 rows', 'REST', () => rest('/api/audit/export?limit=500'), csvRows, Math.min(ITERATIONS, 15));

  // 6. Stats over 24 hours and 30 days.
  const STATS = `query($filter: AuditFilter) { auditStats(filter: $filter) { total allowed denied allowRatio bucket series { start allowed denied } services { service total denied topTools { tool total denied } topDenyingPolicies { policyId name count } } } }`;
  for (const [label, days] of [['24 hours', 1], ['30 days', 30]] as const) {
    const filter = { from: new Date(now.getTime() - days * 86_400_000).toISOString(), to };
    const r = await measure('stats', `auditStats, ${label}`, 'GraphQL', () => graphql(STATS, { filter }), (d) => d.auditStats.total, Math.min(ITERATIONS, 15));
    if (r) r.ratio = { label: 'stats / its SQL', value: r.p50 / r.sqlP50, target: 2 };
  }

  // What every request pays before its audit SQL: the API token lookup and the viewer's memberships.
  const [auth] = await timeIt([
    async () => {
      const viewer = await app.core.auth.authenticate({ authorization: `Bearer ${TOKEN}` });
      await app.core.access(viewer);
    },
  ]);
  console.log(`\nper-request authentication (token lookup + memberships, 2 queries): p50 ${auth.p50.toFixed(1)} ms  p95 ${auth.p95.toFixed(1)} ms`);

  console.log('\nratios (p50 / p50)');
  let missed = 0;
  for (const r of results) {
    if (!r.ratio) continue;
    const ok = r.ratio.value <= r.ratio.target;
    if (!ok) missed++;
    const seq = r.plans.some((p) => p.seqScanOnEntries) ? ' (Seq Scan on audit_entries)' : '';
    console.log(`  ${ok ? 'ok  ' : 'MISS'} ${r.ratio.label.padEnd(27)} ${r.ratio.value.toFixed(2).padStart(6)}x (target ≤${r.ratio.target}x)  ${r.name}${seq}`);
  }
  console.log(`\n${missed === 0 ? 'every target met' : `${missed} target(s) missed`} (load average ${load()})`);

  if (args.json) {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(args.json, JSON.stringify({ postgres: pgVersion, entries: total, iterations: ITERATIONS, load: load(), auth, results }, null, 2));
  }
  await direct.end();
  await app.stop();
  await database.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
