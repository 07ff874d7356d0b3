import type { Kysely, Selectable } from 'kysely';
import type { DB, MemberKeys, Members } from '../types.ts';

type Db = Kysely<DB>;
export type MemberRow = Selectable<Members>;
export type MemberKeyRow = Selectable<MemberKeys>;

export interface MembershipRow {
  member_id: string;
  agent_id: string;
  role: string;
  status: string;
  trust_mode: string;
}

/** Every membership of an account, with what visibility needs to know about the agent. */
export async function listMembershipsOfAccount(db: Db, accountId: string): Promise<MembershipRow[]> {
  return db
    .selectFrom('members')
    .innerJoin('agents', 'agents.id', 'members.agent_id')
    .select(['members.id as member_id', 'members.agent_id', 'members.role', 'members.status', 'agents.trust_mode'])
    .where('members.account_id', '=', accountId)
    .execute();
}

export async function listMembers(
  db: Db,
  q: { agentIds?: string[]; memberIds?: string[]; status?: string },
): Promise<(MemberRow & { agent_name: string })[]> {
  let query = db.selectFrom('members').innerJoin('agents', 'agents.id', 'members.agent_id').selectAll('members').select('agents.name as agent_name');
  const agentIds = q.agentIds ?? [];
  const memberIds = q.memberIds ?? [];
  if (agentIds.length === 0 && memberIds.length === 0) return [];
  query = query.where((eb) =>
    eb.or([
      ...(agentIds.length ? [eb('members.agent_id', 'in', agentIds)] : []),
      ...(memberIds.length ? [eb('members.id', 'in', memberIds)] : []),
    ]),
  );
  if (q.status) query = query.where('members.status', '=', q.status);
  return query.orderBy('agents.name').orderBy('members.display_name').orderBy('members.id').execute();
}

export async function findMemberById(db: Db, id: string): Promise<(MemberRow & { agent_name: string }) | undefined> {
  return db
    .selectFrom('members')
    .innerJoin('agents', 'agents.id', 'members.agent_id')
    .selectAll('members')
    .select('agents.name as agent_name')
    .where('members.id', '=', id)
    .executeTakeFirst();
}

export async function findMembersByIds(db: Db, ids: readonly string[]): Promise<MemberRow[]> {
  if (ids.length === 0) return [];
  return db.selectFrom('members').selectAll().where('id', 'in', ids as string[]).execute();
}

export async function insertMember(
  db: Db,
  values: { agentId: string; accountId: string; role: string; status: string; displayName: string; email: string },
): Promise<MemberRow> {
  return db
    .insertInto('members')
    .values({
      agent_id: values.agentId,
      account_id: values.accountId,
      role: values.role,
      status: values.status,
      display_name: values.displayName,
      email: values.email,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function updateMemberStatus(db: Db, id: string, status: string): Promise<MemberRow | undefined> {
  return db.updateTable('members').set({ status, updated_at: new Date() }).where('id', '=', id).returningAll().executeTakeFirst();
}

export async function listActiveMemberKeys(db: Db, memberIds: readonly string[]): Promise<MemberKeyRow[]> {
  if (memberIds.length === 0) return [];
  return db.selectFrom('member_keys').selectAll().where('member_id', 'in', memberIds as string[]).where('revoked_at', 'is', null).execute();
}

export async function revokeMemberKeys(db: Db, memberId: string): Promise<number> {
  const r = await db.updateTable('member_keys').set({ revoked_at: new Date() }).where('member_id', '=', memberId).where('revoked_at', 'is', null).executeTakeFirst();
  return Number(r.numUpdatedRows);
}

export async function insertMemberKey(db: Db, values: { memberId: string; keyId: string; digest: string; suffix: string }): Promise<MemberKeyRow> {
  return db
    .insertInto('member_keys')
    .values({ member_id: values.memberId, key_id: values.keyId, key_digest: values.digest, suffix: values.suffix })
    .returningAll()
    .executeTakeFirstOrThrow();
}

