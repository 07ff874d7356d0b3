import type { Kysely } from 'kysely';
import { repo, type DB } from '@wicket/db';
import type { Access, Viewer } from './access.ts';

export interface ActivityRecord {
  action: string;
  targetType: string;
  targetId: string | null;
  agentId: string | null;
  before?: unknown;
  after?: unknown;
}

/** Every change an admin makes is itself recorded: who, what, when, before/after. */
export async function recordActivity(db: Kysely<DB>, viewer: Viewer | null, record: ActivityRecord): Promise<void> {
  await repo.insertAdminActivity(db, { accountId: viewer?.accountId ?? null, ...record });
}

export class ActivityService {
  constructor(private readonly db: Kysely<DB>) {}

  async list(access: Access, q: { agentId?: string | null; first?: number | null }) {
    const agentIds = q.agentId ? (access.isOwner(q.agentId) ? [q.agentId] : []) : access.ownerAgentIds;
    const rows = await repo.listAdminActivity(this.db, { agentIds, limit: Math.min(Math.max(q.first ?? 50, 1), 500) });
    return rows.map((r) => ({
      id: r.id,
      action: r.action,
      targetType: r.target_type,
      targetId: r.target_id,
      accountEmail: r.account_email,
      agentId: r.agent_id,
      before: r.before,
      after: r.after,
      createdAt: r.created_at,
    }));
  }
}
