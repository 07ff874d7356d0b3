import { CompiledQuery, sql, type Expression, type ExpressionBuilder, type Insertable, type Kysely, type Selectable, type SqlBool } from 'kysely';
import { preparedText } from '../prepared.ts';
import type { AuditEntries, DB } from '../types.ts';
import { containsPattern } from './sql-text.ts';
import { callerFingerprintNow } from './proxy.repository.ts';

export type AuditEntryRow = Selectable<AuditEntries>;
export type NewAuditEntryRow = Insertable<AuditEntries>;

/** Who may see which rows: entries of agents they own, and their own entries as a member. */
export interface AuditScope {
  ownerAgentIds: string[];
  memberIds: string[];
}

/** The filter grammar of spec §6, already validated and normalised by core. */
export interface AuditCriteria {
  result?: 'ALLOW' | 'DENY';
  service?: string;
  tool?: string;
  agent?: string;
  member?: string;
  policy?: string;
  agentId?: string;
  from?: Date;
  /** exclusive upper bound */
  until?: Date;
}

export interface KeysetPosition {
  timestamp: Date;
  id: string;
}

type Db = Kysely<DB>;
type EB = ExpressionBuilder<DB, 'audit_entries'>;

function scopeCondition(eb: EB, scope: AuditScope): Expression<SqlBool> {
  const parts: Expression<SqlBool>[] = [];
  if (scope.ownerAgentIds.length === 1) parts.push(eb('audit_entries.agent_id', '=', scope.ownerAgentIds[0]));
  else if (scope.ownerAgentIds.length > 1) parts.push(eb('audit_entries.agent_id', 'in', scope.ownerAgentIds));
  if (scope.memberIds.length === 1) parts.push(eb('audit_entries.member_id', '=', scope.memberIds[0]));
  else if (scope.memberIds.length > 1) parts.push(eb('audit_entries.member_id', 'in', scope.memberIds));
  if (parts.length === 0) return sql<SqlBool>`false`;
  return parts.length === 1 ? parts[0] : eb.or(parts);
}

function criteriaConditions(eb: EB, c: AuditCriteria): Expression<SqlBool>[] {
  const out: Expression<SqlBool>[] = [];
  if (c.result) out.push(eb('audit_entries.decision', '=', c.result));
  if (c.service) out.push(eb('audit_entries.service', '=', c.service));
  if (c.tool) out.push(eb('audit_entries.tool', 'ilike', containsPattern(c.tool)));
  if (c.agent) out.push(eb('audit_entries.agent_name', 'ilike', containsPattern(c.agent)));
  if (c.member) out.push(eb('audit_entries.member_id', '=', c.member));
  if (c.agentId) out.push(eb('audit_entries.agent_id', '=', c.agentId));
  if (c.from) out.push(eb('audit_entries.timestamp', '>=', c.from));
  if (c.until) out.push(eb('audit_entries.timestamp', '<', c.until));
  return out;
}

/**
 * Newest first by (timestamp, id). With a policy filter the query is driven by audit_policy_matches,
 * whose primary key (policy_id, timestamp, entry_id), read backwards, yields rows in the list's order,
 * as do its (policy_id, decision | member_id, timestamp desc, entry_id desc) indexes for a result or
 * member filter.
 */
export async function listAuditEntries(
  db: Db,
  q: { scope: AuditScope; criteria: AuditCriteria; after?: KeysetPosition; limit: number; offset?: number },
): Promise<AuditEntryRow[]> {
  const { scope, criteria, after, limit, offset } = q;
  if (criteria.policy) {
    let query = db
      .selectFrom('audit_policy_matches as m')
      .innerJoin('audit_entries', 'audit_entries.id', 'm.entry_id')
      .selectAll('audit_entries')
      .where('m.policy_id', '=', criteria.policy)
      // Decision, member and timestamp are copies on the match row and are tested there only: repeated on
      // the entry they would count twice in the planner's estimate, which then prefers sorting every match.
      .where((eb) =>
        eb.and([scopeCondition(eb as any, scope), ...criteriaConditions(eb as any, { ...criteria, result: undefined, member: undefined, from: undefined, until: undefined })]),
      );
    if (criteria.result) query = query.where('m.decision', '=', criteria.result);
    if (criteria.member) query = query.where('m.member_id', '=', criteria.member);
    if (criteria.from) query = query.where('m.timestamp', '>=', criteria.from);
    if (criteria.until) query = query.where('m.timestamp', '<', criteria.until);
    if (after) query = query.where(sql<SqlBool>`(m.timestamp, m.entry_id) < (${after.timestamp}, ${after.id})`);
    query = query.orderBy('m.timestamp', 'desc').orderBy('m.entry_id', 'desc').limit(limit);
    if (offset) query = query.offset(offset);
    return query.execute();
  }
  let query = db
    .selectFrom('audit_entries')
    .selectAll()
    .where((eb) => eb.and([scopeCondition(eb, scope), ...criteriaConditions(eb, criteria)]));
  if (after) query = query.where(sql<SqlBool>`(audit_entries.timestamp, audit_entries.id) < (${after.timestamp}, ${after.id})`);
  query = query.orderBy('audit_entries.timestamp', 'desc').orderBy('audit_entries.id', 'desc').limit(limit);
  if (offset) query = query.offset(offset);
  return query.execute();
}

/** Entries committed after a stream position, oldest first (the live stream and its replay). */
export async function listAuditEntriesAfterSeq(
  db: Db,
  q: { scope: AuditScope; criteria: AuditCriteria; afterSeq: number; limit: number; throughSeq?: number },
): Promise<AuditEntryRow[]> {
  let query = db.selectFrom('audit_entries').selectAll().where('seq', '>', q.afterSeq);
  if (q.throughSeq !== undefined) query = query.where('seq', '<=', q.throughSeq);
  return query
    .where((eb) => {
      const conds = [scopeCondition(eb, q.scope), ...criteriaConditions(eb, q.criteria)];
      if (q.criteria.policy) {
        conds.push(sql<SqlBool>`${q.criteria.policy}::uuid = any(audit_entries.matched_policy_ids)`);
      }
      return eb.and(conds);
    })
    .orderBy('seq', 'asc')
    .limit(q.limit)
    .execute();
}

export async function findAuditEntryById(db: Db, id: string, scope: AuditScope): Promise<AuditEntryRow | undefined> {
  return db
    .selectFrom('audit_entries')
    .selectAll()
    .where('id', '=', id)
    .where((eb) => scopeCondition(eb, scope))
    .executeTakeFirst();
}

/** The entries with these ids that the scope may see (any order). */
export async function listAuditEntriesByIds(db: Db, ids: readonly string[], scope: AuditScope): Promise<AuditEntryRow[]> {
  if (ids.length === 0) return [];
  return db
    .selectFrom('audit_entries')
    .selectAll()
    .where('id', 'in', ids as string[])
    .where((eb) => scopeCondition(eb, scope))
    .execute();
}

export async function findLatestAuditSeq(db: Db): Promise<number> {
  const row = await db.selectFrom('audit_entries').select((eb) => eb.fn.max('seq').as('seq')).executeTakeFirst();
  return Number(row?.seq ?? 0);
}

/** One statement for many entries: one lock, one rollup upsert per distinct bucket. */
export async function insertAuditEntries(db: Db, rows: NewAuditEntryRow[]): Promise<{ id: string; seq: number; timestamp: Date }[]> {
  if (rows.length === 0) return [];
  return db.insertInto('audit_entries').values(rows).returning(['id', 'seq', 'timestamp']).execute();
}

/** Every column the proxy writes for one entry (seq is drawn by the database). */
export interface AuditEntryInsert {
  id: string;
  timestamp: Date;
  agent_id: string;
  agent_name: string;
  member_id: string | null;
  member_name: string;
  member_key_id: string | null;
  session_id: string | null;
  service: string;
  tool: string;
  action: string;
  resource: string;
  caller_ip: string | null;
  /** JSON text */
  tool_args: string;
  decision: 'ALLOW' | 'DENY';
  reason: string;
  policy_id: string | null;
  matched_policy_ids: string[];
  /** JSON text */
  matched_policies: string;
  principal: string;
  duration_ms: number | null;
  completed_at: Date | null;
  /**
   * Written only if the caller-and-route lookup for (digest, service, tool) still has this fingerprint
   * when the INSERT runs (`findCaller`): a decision made on a cached caller is stored only when nothing
   * it rests on changed since. A row whose guard fails is left out of the batch and of its result.
   */
  guard?: { digest: string; service: string; tool: string; fingerprint: string } | null;
}

// One text for any number of rows (one array per column), so it is a named prepared statement on
// PostgreSQL: parsed and planned once per connection, whatever the batch size. matched_policy_ids travels
// as the text of each row's uuid[] (an array of arrays would be flattened by unnest).
// Guarded rows (a decision made on a cached caller) are written only if the caller's fingerprint is still
// the same: computed once per distinct (key, service, tool) of the batch, in the INSERT's own snapshot.
const INSERT_BATCH_SQL = preparedText(
  'wicket_audit_insert',
  `with v as (
     select * from unnest($1::uuid[], $2::timestamptz[], $3::uuid[], $4::text[], $5::uuid[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],
       $11::text[], $12::text[], $13::text[], $14::jsonb[], $15::text[], $16::text[], $17::uuid[], $18::text[], $19::jsonb[], $20::text[], $21::int[], $22::timestamptz[],
       $23::text[], $24::text[], $25::text[], $26::text[])
       as v(id, timestamp, agent_id, agent_name, member_id, member_name, member_key_id, session_id, service, tool,
         action, resource, caller_ip, tool_args, decision, reason, policy_id, matched_policy_ids, matched_policies, principal, duration_ms, completed_at,
         guard_digest, guard_service, guard_tool, guard_fingerprint)
   ), g as (
     select d.guard_digest, d.guard_service, d.guard_tool, ${callerFingerprintNow('d')} as fingerprint
     from (select distinct guard_digest, guard_service, guard_tool from v where guard_fingerprint is not null) d
   )
   insert into audit_entries (id, timestamp, agent_id, agent_name, member_id, member_name, member_key_id, session_id, service, tool,
     action, resource, caller_ip, tool_args, decision, reason, policy_id, matched_policy_ids, matched_policies, principal, duration_ms, completed_at)
   select id, timestamp, agent_id, agent_name, member_id, member_name, member_key_id, session_id, service, tool,
     action, resource, caller_ip, tool_args, decision, reason, policy_id, matched_policy_ids::uuid[], matched_policies, principal, duration_ms, completed_at
   from v left join g using (guard_digest, guard_service, guard_tool)
   where v.guard_fingerprint is null or v.guard_fingerprint = g.fingerprint
   returning *`,
);

/**
 * The proxy's group commit: many complete rows in one statement (one transaction), returned as stored
 * (every column, as a read would return them: the live stream hands them out without reading them
 * again). Rows with a `guard` that no longer holds are not written and not returned.
 */
export async function insertAuditEntryBatch(db: Db, rows: readonly AuditEntryInsert[]): Promise<AuditEntryRow[]> {
  if (rows.length === 0) return [];
  const column = <T>(pick: (r: AuditEntryInsert) => T) => rows.map(pick);
  const params = [
    column((r) => r.id),
    column((r) => r.timestamp),
    column((r) => r.agent_id),
    column((r) => r.agent_name),
    column((r) => r.member_id),
    column((r) => r.member_name),
    column((r) => r.member_key_id),
    column((r) => r.session_id),
    column((r) => r.service),
    column((r) => r.tool),
    column((r) => r.action),
    column((r) => r.resource),
    column((r) => r.caller_ip),
    column((r) => r.tool_args),
    column((r) => r.decision),
    column((r) => r.reason),
    column((r) => r.policy_id),
    column((r) => `{${r.matched_policy_ids.join(',')}}`),
    column((r) => r.matched_policies),
    column((r) => r.principal),
    column((r) => r.duration_ms),
    column((r) => r.completed_at),
    column((r) => r.guard?.digest ?? null),
    column((r) => r.guard?.service ?? null),
    column((r) => r.guard?.tool ?? null),
    column((r) => r.guard?.fingerprint ?? null),
  ];
  const result = await db.executeQuery<AuditEntryRow>(CompiledQuery.raw(INSERT_BATCH_SQL, params));
  return result.rows;
}

export async function purgeAuditEntriesBefore(db: Db, cutoff: Date): Promise<number> {
  const r = await sql<{ n: number }>`select wicket_purge_audit_before(${cutoff}) as n`.execute(db);
  return Number(r.rows[0]?.n ?? 0);
}

// ---------------------------------------------------------------------------------------------------
// Stats. Whole buckets inside the range come from the rollups (maintained on insert); the partial
// buckets at the two edges come from the entries themselves, so the figures are exact for any range
// while the cost depends on the range and the number of distinct dimensions, not on the table size.

export type StatsGranularity = 'minute' | 'hour' | 'day';

export interface StatsRow {
  bucket: Date;
  service: string;
  tool: string;
  decision: 'ALLOW' | 'DENY';
  policy_id: string | null;
  count: number;
}

function rollupUnit(g: StatsGranularity): 'minute' | 'hour' {
  return g === 'minute' ? 'minute' : 'hour';
}

function floorTo(d: Date, unit: 'minute' | 'hour'): Date {
  const ms = unit === 'minute' ? 60_000 : 3_600_000;
  return new Date(Math.floor(d.getTime() / ms) * ms);
}

function ceilTo(d: Date, unit: 'minute' | 'hour'): Date {
  const ms = unit === 'minute' ? 60_000 : 3_600_000;
  return new Date(Math.ceil(d.getTime() / ms) * ms);
}

/**
 * Grouped counts by (bucket in the requested granularity, service, tool, decision, deciding policy).
 * from/until must be set (core clamps open ranges to the data).
 */
export async function aggregateAuditEntries(
  db: Db,
  q: { scope: AuditScope; criteria: AuditCriteria & { from: Date; until: Date }; granularity: StatsGranularity },
): Promise<StatsRow[]> {
  const { scope, criteria, granularity } = q;
  const unit = rollupUnit(granularity);
  const wholeFrom = ceilTo(criteria.from, unit);
  const wholeUntil = floorTo(criteria.until, unit);
  const bucketExpr = (col: string) => sql<Date>`date_trunc(${granularity}, ${sql.ref(col)}, 'UTC')`;
  const parts: Promise<StatsRow[]>[] = [];

  const rawRange = (from: Date, until: Date) => {
    if (from >= until) return;
    parts.push(
      db
        .selectFrom('audit_entries')
        .select([
          bucketExpr('audit_entries.timestamp').as('bucket'),
          'service',
          'tool',
          'decision',
          'policy_id',
          (eb) => eb.fn.countAll<number>().as('count'),
        ])
        .where((eb) =>
          eb.and([
            scopeCondition(eb, scope),
            ...criteriaConditions(eb, { ...criteria, from, until }),
            ...(criteria.policy ? [sql<SqlBool>`${criteria.policy}::uuid = any(audit_entries.matched_policy_ids)`] : []),
          ]),
        )
        .groupBy(['bucket', 'service', 'tool', 'decision', 'policy_id'])
        .execute() as Promise<StatsRow[]>,
    );
  };

  if (wholeFrom >= wholeUntil) {
    rawRange(criteria.from, criteria.until);
  } else {
    rawRange(criteria.from, wholeFrom);
    rawRange(wholeUntil, criteria.until);
    parts.push(rollupRange(db, { scope, criteria, unit, granularity, from: wholeFrom, until: wholeUntil }));
  }
  const rows = (await Promise.all(parts)).flat();
  return rows.map((r) => ({ ...r, bucket: new Date(r.bucket), count: Number(r.count) }));
}

function rollupRange(
  db: Db,
  q: { scope: AuditScope; criteria: AuditCriteria; unit: 'minute' | 'hour'; granularity: StatsGranularity; from: Date; until: Date },
): Promise<StatsRow[]> {
  const { scope, criteria, unit, granularity, from, until } = q;
  const table = criteria.policy ? 'audit_policy_rollups' : 'audit_rollups';
  const conds = [sql`r.granularity = ${unit}`, sql`r.bucket >= ${from}`, sql`r.bucket < ${until}`];
  const scopeParts = [];
  if (scope.ownerAgentIds.length) scopeParts.push(sql`r.agent_id = any(${scope.ownerAgentIds}::uuid[])`);
  if (scope.memberIds.length) scopeParts.push(sql`r.member_id = any(${scope.memberIds}::uuid[])`);
  conds.push(scopeParts.length ? sql`(${sql.join(scopeParts, sql` or `)})` : sql`false`);
  if (criteria.result) conds.push(sql`r.decision = ${criteria.result}`);
  if (criteria.service) conds.push(sql`r.service = ${criteria.service}`);
  if (criteria.tool) conds.push(sql`r.tool ilike ${containsPattern(criteria.tool)}`);
  if (criteria.member) conds.push(sql`r.member_id = ${criteria.member}`);
  if (criteria.agentId) conds.push(sql`r.agent_id = ${criteria.agentId}`);
  if (criteria.policy) conds.push(sql`r.matched_policy_id = ${criteria.policy}`);
  // Rollups keep the agent name recorded in the entries, so the name filter agrees with the list.
  if (criteria.agent) conds.push(sql`r.agent_name ilike ${containsPattern(criteria.agent)}`);
  return sql<StatsRow>`
    select date_trunc(${granularity}, r.bucket, 'UTC') as bucket, r.service, r.tool, r.decision,
           r.policy_id, sum(r.count)::int8 as count
    from ${sql.table(table)} r
    where ${sql.join(conds, sql` and `)}
    group by 1, 2, 3, 4, 5`
    .execute(db)
    .then((r) => r.rows);
}

export interface AuditOutcome {
  id: string;
  durationMs: number;
  upstreamStatus: string | null;
  upstreamError: string | null;
}

/**
 * Fills the outcome of many entries in one statement (four array parameters, whatever the batch size).
 * Only entries whose outcome is still empty change: the append-only trigger allows one fill.
 */
const OUTCOMES_SQL = preparedText(
  'wicket_audit_outcomes',
  `update audit_entries a
   set duration_ms = v.duration_ms, upstream_status = v.upstream_status, upstream_error = v.upstream_error, completed_at = now()
   from unnest($1::uuid[], $2::int[], $3::text[], $4::text[]) as v(id, duration_ms, upstream_status, upstream_error)
   where a.id = v.id and a.completed_at is null`,
);

export async function recordAuditOutcomes(db: Db, outcomes: readonly AuditOutcome[]): Promise<number> {
  if (outcomes.length === 0) return 0;
  const r = await db.executeQuery(
    CompiledQuery.raw(OUTCOMES_SQL, [
      outcomes.map((o) => o.id),
      outcomes.map((o) => Math.max(0, Math.round(o.durationMs))),
      outcomes.map((o) => o.upstreamStatus),
      outcomes.map((o) => o.upstreamError),
    ]),
  );
  return Number(r.numAffectedRows ?? 0);
}
