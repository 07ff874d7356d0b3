import { type Kysely, type Selectable } from 'kysely';
import type { DB, Json, Policies, PolicyVersions } from '../types.ts';

type Db = Kysely<DB>;
export type PolicyRow = Selectable<Policies>;
export type PolicyVersionRow = Selectable<PolicyVersions>;
export type PolicyWithContentRow = PolicyRow & { content: Json; cedar: string };

function withCurrentVersion(db: Db) {
  return db
    .selectFrom('policies')
    .innerJoin('policy_versions', (join) =>
      join.onRef('policy_versions.policy_id', '=', 'policies.id').onRef('policy_versions.version', '=', 'policies.current_version'),
    )
    .selectAll('policies')
    .select(['policy_versions.content', 'policy_versions.cedar']);
}

export async function listPoliciesOfAgents(db: Db, agentIds: readonly string[]): Promise<PolicyWithContentRow[]> {
  if (agentIds.length === 0) return [];
  return withCurrentVersion(db).where('policies.agent_id', 'in', agentIds as string[]).orderBy('policies.name').orderBy('policies.id').execute();
}

export async function findPolicyById(db: Db, id: string): Promise<PolicyWithContentRow | undefined> {
  return withCurrentVersion(db).where('policies.id', '=', id).executeTakeFirst();
}

export async function findPoliciesByIds(db: Db, ids: readonly string[]): Promise<PolicyWithContentRow[]> {
  if (ids.length === 0) return [];
  return withCurrentVersion(db).where('policies.id', 'in', ids as string[]).execute();
}

export async function findPolicyVersion(db: Db, policyId: string, version: number): Promise<PolicyVersionRow | undefined> {
  return db.selectFrom('policy_versions').selectAll().where('policy_id', '=', policyId).where('version', '=', version).executeTakeFirst();
}

export async function insertPolicy(
  db: Db,
  values: { id?: string; agentId: string; key: string; name: string; service: string; effect: string; enabled: boolean; content: unknown; cedar: string; createdBy?: string | null; createdAt?: Date },
): Promise<PolicyRow> {
  const row = await db
    .insertInto('policies')
    .values({
      // The Cedar text names the policy's id, so a caller compiling it first chooses the id.
      id: values.id,
      agent_id: values.agentId,
      key: values.key,
      name: values.name,
      service: values.service,
      effect: values.effect,
      enabled: values.enabled,
      current_version: 1,
      // Backdated history (the demo seed); otherwise now.
      created_at: values.createdAt,
      updated_at: values.createdAt,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  await db
    .insertInto('policy_versions')
    .values({ policy_id: row.id, version: 1, content: JSON.stringify(values.content), cedar: values.cedar, created_by: values.createdBy ?? null, created_at: values.createdAt })
    .execute();
  return row;
}

/** A new immutable version, made current. Call inside a transaction that locked the policy row. */
export async function insertPolicyVersion(
  db: Db,
  values: { policyId: string; name: string; service: string; effect: string; content: unknown; cedar: string; createdBy?: string | null; createdAt?: Date },
): Promise<PolicyRow> {
  const current = await db.selectFrom('policies').select('current_version').where('id', '=', values.policyId).forUpdate().executeTakeFirstOrThrow();
  const version = current.current_version + 1;
  await db
    .insertInto('policy_versions')
    .values({ policy_id: values.policyId, version, content: JSON.stringify(values.content), cedar: values.cedar, created_by: values.createdBy ?? null, created_at: values.createdAt })
    .execute();
  return db
    .updateTable('policies')
    .set({ current_version: version, name: values.name, service: values.service, effect: values.effect, updated_at: values.createdAt ?? new Date() })
    .where('id', '=', values.policyId)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function updatePolicyEnabled(db: Db, id: string, enabled: boolean): Promise<PolicyRow | undefined> {
  return db.updateTable('policies').set({ enabled, updated_at: new Date() }).where('id', '=', id).returningAll().executeTakeFirst();
}

export async function lockPolicy(db: Db, id: string): Promise<PolicyRow | undefined> {
  return db.selectFrom('policies').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
}

export async function policyKeyExists(db: Db, agentId: string, key: string): Promise<boolean> {
  const r = await db.selectFrom('policies').select('id').where('agent_id', '=', agentId).where('key', '=', key).executeTakeFirst();
  return !!r;
}

/** The engine's input: the agent's enabled policies with their current version's content. */
export async function listEnabledPoliciesOfAgent(db: Db, agentId: string): Promise<PolicyWithContentRow[]> {
  return withCurrentVersion(db).where('policies.agent_id', '=', agentId).where('policies.enabled', '=', true).orderBy('policies.name').orderBy('policies.id').execute();
}

export type PolicyVersionWithAuthorRow = PolicyVersionRow & { agent_id: string; created_by_email: string | null };

/** Versions of many policies, newest first, with the owning agent and the author's email. */
export async function listPolicyVersionsWithAuthors(db: Db, policyIds: readonly string[]): Promise<PolicyVersionWithAuthorRow[]> {
  if (policyIds.length === 0) return [];
  return db
    .selectFrom('policy_versions')
    .innerJoin('policies', 'policies.id', 'policy_versions.policy_id')
    .leftJoin('accounts', 'accounts.id', 'policy_versions.created_by')
    .selectAll('policy_versions')
    .select(['policies.agent_id', 'accounts.email as created_by_email'])
    .where('policy_versions.policy_id', 'in', policyIds as string[])
    .orderBy('policy_versions.policy_id')
    .orderBy('policy_versions.version', 'desc')
    .execute();
}

/**
 * The agent's policy revision: a counter a trigger raises with every insert, update or delete of one of
 * its policies (toggle, save, rollback, creation, removal), in the same transaction. 'none': no such agent.
 */
export async function findPolicyRevision(db: Db, agentId: string): Promise<string> {
  const row = await db.selectFrom('agents').select('policy_revision').where('id', '=', agentId).executeTakeFirst();
  return row ? String(row.policy_revision) : 'none';
}
