import type { Kysely, Selectable } from 'kysely';
import type { AdminActivity, DB } from '../types.ts';

type Db = Kysely<DB>;
export type AdminActivityRow = Selectable<AdminActivity>;

export async function insertAdminActivity(
  db: Db,
  values: { accountId: string | null; agentId: string | null; action: string; targetType: string; targetId: string | null; before?: unknown; after?: unknown },
): Promise<void> {
  await db
    .insertInto('admin_activity')
    .values({
      account_id: values.accountId,
      agent_id: values.agentId,
      action: values.action,
      target_type: values.targetType,
      target_id: values.targetId,
      before: values.before === undefined ? null : JSON.stringify(values.before),
      after: values.after === undefined ? null : JSON.stringify(values.after),
    })
    .execute();
}

export async function listAdminActivity(db: Db, q: { agentIds: string[]; limit: number }): Promise<(AdminActivityRow & { account_email: string | null })[]> {
  if (q.agentIds.length === 0) return [];
  return db
    .selectFrom('admin_activity')
    .leftJoin('accounts', 'accounts.id', 'admin_activity.account_id')
    .selectAll('admin_activity')
    .select('accounts.email as account_email')
    .where('admin_activity.agent_id', 'in', q.agentIds)
    .orderBy('admin_activity.created_at', 'desc')
    .limit(q.limit)
    .execute();
}
