import { CompiledQuery, type Kysely } from 'kysely';
import { preparedText } from '../prepared.ts';
import type { DB } from '../types.ts';

type Db = Kysely<DB>;

/** The member behind a key, the member's agent, and the agent's policy revision (raised by a trigger on any policy change). */
export interface CallerRow {
  key_row_id: string;
  key_id: string;
  member_id: string;
  display_name: string;
  email: string;
  member_status: string;
  role: string;
  agent_id: string;
  agent_name: string;
  agent_status: string;
  trust_mode: string;
  timezone: string;
  policy_revision: number;
}

/** What the proxy needs to route one `tools/call`: the connector, the tool's catalog row, and whether the agent has the service. */
export interface CallRouteRow {
  service: string;
  upstream_url: string | null;
  cedar_namespace: string;
  credentials_encrypted: string | null;
  /** null when the connector's catalog has no such tool */
  tool_name: string | null;
  sensitive_keys: string[] | null;
  service_enabled: boolean;
}

const CALLER_FROM = `
  from member_keys k
  join members m on m.id = k.member_id
  join agents a on a.id = m.agent_id`;
const CALLER_COLUMNS = `k.id as key_row_id, k.key_id, m.id as member_id, m.display_name, m.email, m.status as member_status, m.role,
  a.id as agent_id, a.name as agent_name, a.status as agent_status, a.trust_mode, a.timezone, a.policy_revision`;
const CALLER_WHERE = 'where k.key_digest = $1 and k.revoked_at is null';

/**
 * The caller-and-route lookup for a key digest, a service and a tool, given as SQL expressions (the
 * parameters of the lookup, or the columns of an INSERT's rows when it re-checks a cached caller).
 * `fingerprint` is the md5 of everything the lookup read: any change to the key, member, agent (status,
 * trust, timezone, policy revision), connector, catalog tool or the agent's services changes it.
 */
function callerRouteLookup(digest: string, service: string, tool: string, columns: string): string {
  return `select ${columns} ${CALLER_FROM}
  left join lateral (
    select c.service, c.upstream_url, c.cedar_namespace, c.credentials_encrypted, t.name as tool_name, t.sensitive_keys,
           exists (select 1 from agent_services s where s.agent_id = a.id and s.service = c.service) as service_enabled
    from connectors c
    left join connector_tools t on t.service = c.service and t.name = ${tool}
    where c.service = ${service}
  ) r on true
  where k.key_digest = ${digest} and k.revoked_at is null`;
}
const FINGERPRINT = `md5(row(k.id, k.key_id, m.id, m.display_name, m.email, m.status, m.role, a.id, a.name, a.status, a.trust_mode, a.timezone,
  a.policy_revision, r.service, r.upstream_url, r.cedar_namespace, r.credentials_encrypted, r.tool_name, r.sensitive_keys, r.service_enabled)::text)`;

/** SQL for "the fingerprint the lookup would give now" for the row `alias` (columns guard_digest, guard_service, guard_tool). */
export function callerFingerprintNow(alias: string): string {
  return `(${callerRouteLookup(`${alias}.guard_digest`, `${alias}.guard_service`, `${alias}.guard_tool`, FINGERPRINT)})`;
}

// Fixed SQL texts (no query builder on the call path), sent as named prepared statements on PostgreSQL.
const CALLER_SQL = preparedText('wicket_caller', `select ${CALLER_COLUMNS} ${CALLER_FROM} ${CALLER_WHERE}`);
const CALLER_ROUTE_SQL = preparedText(
  'wicket_caller_route',
  callerRouteLookup(
    '$1',
    '$2',
    '$3',
    `${CALLER_COLUMNS},
  r.service as route_service, r.upstream_url, r.cedar_namespace, r.credentials_encrypted, r.tool_name, r.sensitive_keys, r.service_enabled,
  ${FINGERPRINT} as fingerprint`,
  ),
);

type CallerRouteColumns = CallerRow & { route_service: string | null; fingerprint: string } & Omit<CallRouteRow, 'service'>;

/**
 * The proxy's one lookup per request: key digest → key, member, agent (with its policy revision) and,
 * for a `tools/call` of `service__tool`, the route of that call (connector, catalog tool, whether the
 * agent has the service; `route: null` when no connector has that service) and the fingerprint of all
 * of it, which a guarded audit INSERT compares with the state at its own time (`AuditEntryInsert.guard`).
 * Undefined: no such live key.
 */
export async function findCaller(db: Db, digest: string): Promise<CallerRow | undefined>;
export async function findCaller(db: Db, digest: string, call: { service: string; tool: string }): Promise<(CallerRow & { route: CallRouteRow | null; fingerprint: string }) | undefined>;
export async function findCaller(db: Db, digest: string, call?: { service: string; tool: string }): Promise<(CallerRow & { route?: CallRouteRow | null; fingerprint?: string }) | undefined> {
  if (!call) return (await db.executeQuery<CallerRow>(CompiledQuery.raw(CALLER_SQL, [digest]))).rows[0];
  const row = (await db.executeQuery<CallerRouteColumns>(CompiledQuery.raw(CALLER_ROUTE_SQL, [digest, call.service, call.tool]))).rows[0];
  if (!row) return undefined;
  const { route_service, upstream_url, cedar_namespace, credentials_encrypted, tool_name, sensitive_keys, service_enabled, ...caller } = row;
  const route = route_service === null ? null : { service: route_service, upstream_url, cedar_namespace, credentials_encrypted, tool_name, sensitive_keys, service_enabled };
  return { ...caller, route };
}

export interface AgentToolRow {
  service: string;
  cedar_namespace: string;
  name: string;
  description: string;
  tier: string;
  input_schema: unknown;
}

/** The catalog tools of every service enabled on the agent (`tools/list`). */
export async function listToolsOfAgent(db: Db, agentId: string): Promise<AgentToolRow[]> {
  return db
    .selectFrom('agent_services as s')
    .innerJoin('connectors as c', 'c.service', 's.service')
    .innerJoin('connector_tools as t', 't.service', 's.service')
    .select(['t.service', 'c.cedar_namespace', 't.name', 't.description', 't.tier', 't.input_schema'])
    .where('s.agent_id', '=', agentId)
    .orderBy('t.service')
    .orderBy('t.name')
    .execute();
}
