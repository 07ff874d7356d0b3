import { sql, type Kysely, type Selectable } from 'kysely';
import type { Agents, DB } from '../types.ts';
import { containsPattern } from './sql-text.ts';

type Db = Kysely<DB>;
export type AgentRow = Selectable<Agents>;

export interface AgentListQuery {
  agentIds: string[];
  search?: string;
  status?: 'active' | 'disabled';
  sortBy: 'name' | 'status' | 'created_at' | 'updated_at';
  sortDir: 'asc' | 'desc';
  limit: number;
  offset?: number;
  /** keyset: the last row of the previous page */
  after?: { value: string | Date; id: string };
}

export async function listAgents(db: Db, q: AgentListQuery): Promise<AgentRow[]> {
  if (q.agentIds.length === 0) return [];
  let query = db.selectFrom('agents').selectAll().where('id', 'in', q.agentIds);
  if (q.search) query = query.where('name', 'ilike', containsPattern(q.search));
  if (q.status) query = query.where('status', '=', q.status);
  if (q.after) {
    const op = q.sortDir === 'asc' ? sql`>` : sql`<`;
    query = query.where(sql<boolean>`(${sql.ref(q.sortBy)}, id) ${op} (${q.after.value}, ${q.after.id})`);
  }
  query = query.orderBy(q.sortBy, q.sortDir).orderBy('id', q.sortDir).limit(q.limit);
  if (q.offset) query = query.offset(q.offset);
  return query.execute();
}

export async function countAgents(db: Db, q: Pick<AgentListQuery, 'agentIds' | 'search' | 'status'>): Promise<number> {
  if (q.agentIds.length === 0) return 0;
  let query = db.selectFrom('agents').select((eb) => eb.fn.countAll<number>().as('n')).where('id', 'in', q.agentIds);
  if (q.search) query = query.where('name', 'ilike', containsPattern(q.search));
  if (q.status) query = query.where('status', '=', q.status);
  const r = await query.executeTakeFirstOrThrow();
  return Number(r.n);
}

export async function findAgentById(db: Db, id: string): Promise<AgentRow | undefined> {
  return db.selectFrom('agents').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findAgentsByIds(db: Db, ids: readonly string[]): Promise<AgentRow[]> {
  if (ids.length === 0) return [];
  return db.selectFrom('agents').selectAll().where('id', 'in', ids as string[]).execute();
}

export async function insertAgent(
  db: Db,
  values: { name: string; tags?: string[]; status?: string; trustMode?: string; timezone?: string; createdBy?: string | null },
): Promise<AgentRow> {
  return db
    .insertInto('agents')
    .values({
      name: values.name,
      tags: values.tags ?? [],
      status: values.status ?? 'active',
      trust_mode: values.trustMode ?? 'trusted',
      timezone: values.timezone ?? 'UTC',
      created_by: values.createdBy ?? null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function updateAgentStatus(db: Db, id: string, status: 'active' | 'disabled'): Promise<AgentRow | undefined> {
  return db.updateTable('agents').set({ status, updated_at: new Date() }).where('id', '=', id).returningAll().executeTakeFirst();
}

export async function listAgentServices(db: Db, agentIds: readonly string[]): Promise<{ agent_id: string; service: string }[]> {
  if (agentIds.length === 0) return [];
  return db.selectFrom('agent_services').select(['agent_id', 'service']).where('agent_id', 'in', agentIds as string[]).orderBy('service').execute();
}

export async function enableAgentService(db: Db, agentId: string, service: string): Promise<void> {
  await db.insertInto('agent_services').values({ agent_id: agentId, service }).onConflict((oc) => oc.doNothing()).execute();
}
