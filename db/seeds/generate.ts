import { sql, type Kysely } from 'kysely';
import type { DB } from '@wicket/db';
import { loadDemoWorld } from './demo.ts';
import { DEMO_DAYS, HOUR_MS, type SimulatedEntry } from './demo-model.ts';
import { Random } from './random.ts';

export interface GenerateOptions {
  /** How many audit entries to add. */
  entries: number;
  /** End of the 30-day window the entries fall in (default now). */
  now?: Date;
  /** Rows per INSERT statement (default 50,000). */
  batchRows?: number;
  /** Distinct simulated calls per hour that the rows of that hour are drawn from (default 32). */
  templatesPerHour?: number;
  seed?: number;
  onProgress?: (inserted: number, total: number) => void;
}

export interface GenerateResult {
  inserted: number;
  seconds: number;
  rowsPerSecond: number;
  statements: number;
}

/** Keeps each statement's template arrays small (a few thousand calls). */
const MAX_HOURS_PER_BATCH = 48;

interface Hour {
  start: number;
  /** Length in ms (the last hour ends now). */
  span: number;
  templates: SimulatedEntry[];
  rows: number;
}

/**
 * Adds `entries` audit entries to a demo installation, fast enough for benchmark tables of millions of
 * rows. JavaScript simulates a few dozen calls per hour of the window with the demo's world (the same
 * agents, members, keys, policy versions and engine decisions as installDemo); PostgreSQL then expands
 * them into the requested number of rows with generate_series, one INSERT … SELECT per batch of hours.
 * Rows per hour follow the demo's weekday/hour traffic curve, and rows are inserted oldest first, so
 * timestamps grow with the heap as they do in a real log. Each statement fires the statement-level audit
 * triggers (advisory lock, policy matches, rollups) once.
 */
export async function generateAuditEntries(db: Kysely<DB>, options: GenerateOptions): Promise<GenerateResult> {
  const started = performance.now();
  const total = Math.max(0, Math.floor(options.entries));
  if (total === 0) return { inserted: 0, seconds: 0, rowsPerSecond: 0, statements: 0 };
  const world = await loadDemoWorld(db, new Random(options.seed ?? 7));
  const now = (options.now ?? new Date()).getTime();
  const perHour = options.templatesPerHour ?? 32;
  const batchRows = options.batchRows ?? 50_000;

  const hours: Hour[] = [];
  for (let start = Math.floor((now - DEMO_DAYS * 24 * HOUR_MS) / HOUR_MS) * HOUR_MS; start < now; start += HOUR_MS) {
    hours.push({ start, span: Math.min(HOUR_MS, now - start), templates: [], rows: 0 });
  }
  distributeRows(hours, total, (h) => world.expectedCallsAll(h.start) * (h.span / HOUR_MS));

  const batches: Hour[][] = [[]];
  let rowsInBatch = 0;
  for (const h of hours) {
    if (h.rows === 0) continue;
    if (rowsInBatch > 0 && (rowsInBatch + h.rows > batchRows || batches[batches.length - 1].length >= MAX_HOURS_PER_BATCH)) {
      batches.push([]);
      rowsInBatch = 0;
    }
    batches[batches.length - 1].push(h);
    rowsInBatch += h.rows;
  }

  // The next batch's calls are simulated while PostgreSQL inserts the current one (one core each).
  const simulate = async (batch: Hour[]) => {
    for (const h of batch) {
      h.templates = world.sampleHour(h.start, perHour, h.span);
      if (h.templates.length === 0) throw new Error(`no demo traffic could be simulated for the hour of ${new Date(h.start).toISOString()}`);
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  let inserted = 0;
  await simulate(batches[0]);
  for (let i = 0; i < batches.length; i++) {
    const insert = insertBatch(db, batches[i], perHour);
    if (i + 1 < batches.length) await simulate(batches[i + 1]);
    inserted += await insert;
    batches[i] = [];
    options.onProgress?.(inserted, total);
  }
  const statements = batches.length;
  await sql`analyze audit_entries`.execute(db);
  await sql`analyze audit_policy_matches`.execute(db);
  await sql`analyze audit_rollups`.execute(db);
  await sql`analyze audit_policy_rollups`.execute(db);
  const seconds = (performance.now() - started) / 1000;
  return { inserted, seconds, rowsPerSecond: Math.round(inserted / seconds), statements };
}

/** Splits `total` rows over the hours in proportion to their weights (largest remainder, exact sum). */
function distributeRows(hours: Hour[], total: number, weight: (h: Hour) => number): void {
  const weights = hours.map(weight);
  const sum = weights.reduce((a, b) => a + b, 0) || hours.length;
  const exact = weights.map((w) => ((sum === hours.length && w === 0 ? 1 : w) / sum) * total);
  let assigned = 0;
  hours.forEach((h, i) => {
    h.rows = Math.floor(exact[i]);
    assigned += h.rows;
  });
  const byRemainder = hours.map((_, i) => i).sort((a, b) => exact[b] - Math.floor(exact[b]) - (exact[a] - Math.floor(exact[a])));
  for (let k = 0; assigned < total; k = (k + 1) % hours.length, assigned++) hours[byRemainder[k]].rows++;
}

/**
 * One INSERT … SELECT: the batch's templates arrive as column arrays; every hour's rows get evenly
 * spread timestamps (slightly jittered, still increasing) and a template of that hour chosen by a hash
 * of the row number, with the upstream latency of allowed calls varied around the template's.
 */
async function insertBatch(db: Kysely<DB>, hours: Hour[], perHour: number): Promise<number> {
  const t = {
    idx: [] as number[],
    agentId: [] as string[],
    agentName: [] as string[],
    memberId: [] as string[],
    memberName: [] as string[],
    keyId: [] as (string | null)[],
    sessionId: [] as string[],
    service: [] as string[],
    tool: [] as string[],
    action: [] as string[],
    resource: [] as string[],
    callerIp: [] as string[],
    toolArgs: [] as string[],
    decision: [] as string[],
    reason: [] as string[],
    policyId: [] as (string | null)[],
    matchedIds: [] as string[],
    matched: [] as string[],
    principal: [] as string[],
    duration: [] as number[],
    upstreamStatus: [] as (string | null)[],
    upstreamError: [] as (string | null)[],
  };
  hours.forEach((h, slot) => {
    for (let k = 0; k < perHour; k++) {
      const e = h.templates[k % h.templates.length];
      t.idx.push(slot * perHour + k);
      t.agentId.push(e.agent_id);
      t.agentName.push(e.agent_name);
      t.memberId.push(e.member_id);
      t.memberName.push(e.member_name);
      t.keyId.push(e.member_key_id);
      t.sessionId.push(e.session_id);
      t.service.push(e.service);
      t.tool.push(e.tool);
      t.action.push(e.action);
      t.resource.push(e.resource);
      t.callerIp.push(e.caller_ip);
      t.toolArgs.push(JSON.stringify(e.tool_args));
      t.decision.push(e.decision);
      t.reason.push(e.reason);
      t.policyId.push(e.policy_id);
      t.matchedIds.push(`{${e.matched_policy_ids.join(',')}}`);
      t.matched.push(JSON.stringify(e.matched_policies));
      t.principal.push(e.principal);
      t.duration.push(e.duration_ms);
      t.upstreamStatus.push(e.upstream_status);
      t.upstreamError.push(e.upstream_error);
    }
  });
  const slots = hours.map((_, i) => i);
  const starts = hours.map((h) => new Date(h.start).toISOString());
  const spans = hours.map((h) => h.span);
  const counts = hours.map((h) => h.rows);

  // One transaction per statement, to give it memory for the sort and skip JIT compilation (which costs
  // more than it saves on a statement that runs once).
  const result = await db.transaction().execute(async (trx) => {
    await sql`set local work_mem = '256MB'`.execute(trx);
    await sql`set local jit = off`.execute(trx);
    return sql`
    with t as materialized (
      select idx, agent_id, agent_name, member_id, member_name, member_key_id, session_id, service, tool, action, resource,
             caller_ip, tool_args, decision, reason, policy_id, matched_ids::uuid[] as matched_policy_ids, matched_policies,
             principal, duration_ms, upstream_status, upstream_error
      from unnest(${t.idx}::int[], ${t.agentId}::uuid[], ${t.agentName}::text[], ${t.memberId}::uuid[], ${t.memberName}::text[],
                  ${t.keyId}::text[], ${t.sessionId}::text[], ${t.service}::text[], ${t.tool}::text[], ${t.action}::text[],
                  ${t.resource}::text[], ${t.callerIp}::text[], ${t.toolArgs}::jsonb[], ${t.decision}::text[], ${t.reason}::text[],
                  ${t.policyId}::uuid[], ${t.matchedIds}::text[], ${t.matched}::jsonb[], ${t.principal}::text[], ${t.duration}::int[],
                  ${t.upstreamStatus}::text[], ${t.upstreamError}::text[])
        as u(idx, agent_id, agent_name, member_id, member_name, member_key_id, session_id, service, tool, action, resource,
             caller_ip, tool_args, decision, reason, policy_id, matched_ids, matched_policies, principal, duration_ms,
             upstream_status, upstream_error)
    ),
    s as (
      select h.start + ((i - 1 + ((i * 7919) % 997) / 997.0::float8) / h.n * h.span) * interval '1 millisecond' as ts,
             h.slot * ${perHour} + ((h.slot::int8 * 1000003 + i) * 2654435761 % 4294967296) % ${perHour} as tidx,
             i
      from unnest(${slots}::int[], ${starts}::timestamptz[], ${spans}::float8[], ${counts}::int[]) as h(slot, start, span, n)
      cross join lateral generate_series(1, h.n) as i
    )
    insert into audit_entries (timestamp, agent_id, agent_name, member_id, member_name, member_key_id, session_id, service, tool,
      action, resource, caller_ip, tool_args, decision, reason, policy_id, matched_policy_ids, matched_policies, principal,
      duration_ms, upstream_status, upstream_error, completed_at)
    select s.ts, t.agent_id, t.agent_name, t.member_id, t.member_name, t.member_key_id, t.session_id, t.service, t.tool,
           t.action, t.resource, t.caller_ip, t.tool_args, t.decision, t.reason, t.policy_id, t.matched_policy_ids,
           t.matched_policies, t.principal, d.ms, t.upstream_status, t.upstream_error, s.ts + d.ms * interval '1 millisecond'
    from s
    join t on t.idx = s.tidx
    cross join lateral (
      select case when t.decision = 'DENY' or t.upstream_error like 'timeout%' then t.duration_ms
                  else greatest(1, round(t.duration_ms * (0.6 + ((s.i * 40503) % 800) / 1000.0)))::int end as ms
    ) d
    order by s.ts
  `.execute(trx);
  });
  return Number(result.numAffectedRows ?? 0);
}
