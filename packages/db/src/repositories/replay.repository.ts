import type { Kysely, Selectable } from 'kysely';
import type { AuditEntries, DB } from '../types.ts';

type Db = Kysely<DB>;

/** What a replay needs of an audit entry: no names, no outcome, no matched-policy lists. */
export type ReplayEntryRow = Pick<Selectable<AuditEntries>, 'id' | 'decision' | 'service' | 'tool' | 'member_id' | 'tool_args' | 'timestamp' | 'caller_ip'>;

/**
 * One agent's entries in [from, to], newest first, at most `limit` of them. Driven by the
 * (agent_id, timestamp desc, id desc) index, so a capped replay reads only the rows it returns.
 */
export async function listAuditEntriesForReplay(db: Db, q: { agentId: string; from: Date; to: Date; limit: number }): Promise<ReplayEntryRow[]> {
  return db
    .selectFrom('audit_entries')
    .select(['id', 'decision', 'service', 'tool', 'member_id', 'tool_args', 'timestamp', 'caller_ip'])
    .where('agent_id', '=', q.agentId)
    .where('timestamp', '>=', q.from)
    .where('timestamp', '<=', q.to)
    .orderBy('timestamp', 'desc')
    .orderBy('id', 'desc')
    .limit(q.limit)
    .execute();
}

/** Whole entries of one agent by id (the changed entries a replay reports). */
export async function listAuditEntriesOfAgentByIds(db: Db, agentId: string, ids: readonly string[]): Promise<Selectable<AuditEntries>[]> {
  if (ids.length === 0) return [];
  return db
    .selectFrom('audit_entries')
    .selectAll()
    .where('agent_id', '=', agentId)
    .where('id', 'in', ids as string[])
    .execute();
}
