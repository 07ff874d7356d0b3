import { sql, type Kysely } from 'kysely';
import type { DB } from '../types.ts';

type Db = Kysely<DB>;

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

/** One query per call: connector, catalog tool and the agent's enablement of the service. Undefined: no such connector. */
export async function findCallRoute(db: Db, q: { agentId: string; service: string; tool: string }): Promise<CallRouteRow | undefined> {
  return db
    .selectFrom('connectors as c')
    .leftJoin('connector_tools as t', (join) => join.onRef('t.service', '=', 'c.service').on('t.name', '=', q.tool))
    .leftJoin('agent_services as s', (join) => join.onRef('s.service', '=', 'c.service').on('s.agent_id', '=', q.agentId))
    .select([
      'c.service',
      'c.upstream_url',
      'c.cedar_namespace',
      'c.credentials_encrypted',
      't.name as tool_name',
      't.sensitive_keys',
      sql<boolean>`s.agent_id is not null`.as('service_enabled'),
    ])
    .where('c.service', '=', q.service)
    .executeTakeFirst();
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
