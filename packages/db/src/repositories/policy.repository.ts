import type { Kysely, Selectable } from 'kysely';
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

export async function listPolicyVersions(db: Db, policyIds: readonly string[]): Promise<PolicyVersionRow[]> {
  if (policyIds.length === 0) return [];
  return db.selectFrom('policy_versions').selectAll().where('policy_id', 'in', policyIds as string[]).orderBy('version', 'desc').execute();
}

export async function findPolicyVersion(db: Db, policyId: string, version: number): Promise<PolicyVersionRow | undefined> {
  return db.selectFrom('policy_versions').selectAll().where('policy_id', '=', policyId).where('version', '=', version).executeTakeFirst();
}

export async function insertPolicy(
  db: Db,
  values: { agentId: string; key: string; name: string; service: string; effect: string; enabled: boolean; content: unknown; cedar: string; createdBy?: string | null },
): Promise<PolicyRow> {
  const row = await db
    .insertInto('policies')
    .values({
      agent_id: values.agentId,
      key: values.key,
      name: values.name,
      service: values.service,
      effect: values.effect,
      enabled: values.enabled,
      current_version: 1,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  await db
    .insertInto('policy_versions')
    .values({ policy_id: row.id, version: 1, content: JSON.stringify(values.content), cedar: values.cedar, created_by: values.createdBy ?? null })
    .execute();
  return row;
}

/** A new immutable version, made current. Call inside a transaction that locked the policy row. */
export async function insertPolicyVersion(
  db: Db,
  values: { policyId: string; name: string; service: string; effect: string; content: unknown; cedar: string; createdBy?: string | null },
): Promise<PolicyRow> {
  const current = await db.selectFrom('policies').select('current_version').where('id', '=', values.policyId).forUpdate().executeTakeFirstOrThrow();
  const version = current.current_version + 1;
  await db
    .insertInto('policy_versions')
    .values({ policy_id: values.policyId, version, content: JSON.stringify(values.content), cedar: values.cedar, created_by: values.createdBy ?? null })
    .execute();
  return db
    .updateTable('policies')
    .set({ current_version: version, name: values.name, service: values.service, effect: values.effect, updated_at: new Date() })
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
