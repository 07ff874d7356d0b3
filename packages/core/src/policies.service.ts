import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { repo, type DB } from '@wicket/db';
import {
  compilePolicyToCedar,
  derivePolicyKey,
  parsePolicyContent,
  PolicyCompileError,
  POLICY_KEY_PATTERN,
  type ArgumentCondition,
  type Effect,
  type PolicyContent,
  type TimeWindow,
} from '@wicket/policy';
import type { Access } from './access.ts';
import { recordActivity } from './activity.service.ts';
import { ConflictError, NotFoundError, ValidationError } from './errors.ts';
import type { CoreEventBus } from './events.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const POLICY_KEY_MAX = 64;

/**
 * A policy as REST bodies and GraphQL inputs give it (spec §2): the structured content plus `key`
 * (optional, derived from the name) and `enabled`. Values are checked here, whatever the transport.
 */
export interface PolicyInput {
  name?: unknown;
  key?: unknown;
  service?: unknown;
  effect?: unknown;
  tools?: unknown;
  principal?: unknown;
  timeWindow?: unknown;
  callerIps?: unknown;
  conditions?: unknown;
  denyMessage?: unknown;
  enabled?: unknown;
}

/** The content of one version, with every optional part present (empty when unset). */
export interface PolicyContentView {
  name: string;
  service: string;
  effect: Effect;
  /** [] = every tool of the service. */
  tools: string[];
  principal: PolicyContent['principal'];
  timeWindow: TimeWindow | null;
  callerIps: string[];
  conditions: ArgumentCondition[];
  denyMessage: string | null;
}

export interface PolicyView extends PolicyContentView {
  id: string;
  agentId: string;
  key: string;
  enabled: boolean;
  /** The current version. */
  version: number;
  /** Cedar text of the current version (read-only preview; what the engine evaluates). */
  cedar: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface PolicyVersionView extends PolicyContentView {
  policyId: string;
  version: number;
  cedar: string;
  createdAt: Date;
  /** Email of the account that saved this version, when known. */
  createdBy: string | null;
}

export interface PreparedPolicy {
  content: PolicyContent;
  /** Absent when the input gave none. */
  key?: string;
  enabled?: boolean;
  /** Cedar namespace of the service's connector. */
  namespace: string;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** GraphQL gives null for an input field left out, and REST scripts send null for "none": both mean absent. */
function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (!isPlainObject(value)) return value;
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null && v !== undefined).map(([k, v]) => [k, withoutNulls(v)]));
}

/** JSON with object keys sorted: jsonb reorders keys, so stored and new content compare by this. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (isPlainObject(value)) {
    return `{${Object.keys(value)
      .filter((k) => value[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

function canonicalContent(stored: unknown): string {
  const parsed = parsePolicyContent(stored);
  return canonicalJson(parsed.ok ? parsed.value : stored);
}

function isUniqueViolation(e: unknown): boolean {
  return (e as { code?: unknown } | null)?.code === '23505';
}

export function assertUuid(value: string, field: string): void {
  if (!UUID.test(value)) throw new ValidationError(`${field} must be a UUID`, field);
}

/** Stored content (validated when it was written) as a view with every optional part present. */
export function contentView(stored: unknown, fallback: { name: string; service: string; effect: string }): PolicyContentView {
  const c = (isPlainObject(stored) ? stored : {}) as Partial<PolicyContent>;
  return {
    name: c.name ?? fallback.name,
    service: c.service ?? fallback.service,
    effect: (c.effect ?? fallback.effect) as Effect,
    tools: c.tools ?? [],
    principal: c.principal ?? { type: 'all_members' },
    timeWindow: c.timeWindow ?? null,
    callerIps: c.callerIps ?? [],
    conditions: c.conditions ?? [],
    denyMessage: c.denyMessage ?? null,
  };
}

function toView(row: repo.PolicyWithContentRow): PolicyView {
  return {
    ...contentView(row.content, row),
    id: row.id,
    agentId: row.agent_id,
    key: row.key,
    enabled: row.enabled,
    version: row.current_version,
    cedar: row.cedar,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toVersionView(row: repo.PolicyVersionWithAuthorRow): PolicyVersionView {
  return {
    // Every stored version was validated content, name, service and effect included.
    ...contentView(row.content, { name: '', service: '', effect: 'permit' }),
    policyId: row.policy_id,
    version: row.version,
    cedar: row.cedar,
    createdAt: row.created_at,
    createdBy: row.created_by_email,
  };
}

/** What admin activity records of a policy, before and after a change. */
function snapshot(p: { key: string; version: number; enabled: boolean; content: unknown }) {
  return { key: p.key, version: p.version, enabled: p.enabled, content: p.content };
}

export function compileCedar(input: { id: string; key: string; content: PolicyContent; namespace: string }, field = 'service'): string {
  try {
    return compilePolicyToCedar(input);
  } catch (e) {
    if (e instanceof PolicyCompileError) throw new ValidationError(`the policy cannot be compiled to Cedar: ${e.message}`, field);
    throw e;
  }
}

/**
 * Validates a policy input for an agent: the content (spec §2), the key and enabled flag, and what it
 * refers to: the service must have a connector, named tools must be in its catalog (when it has one),
 * named members must be members of the agent. Errors name the field, under `prefix` (e.g. "draft.").
 */
export async function preparePolicyInput(db: Kysely<DB>, agentId: string, input: unknown, prefix = ''): Promise<PreparedPolicy> {
  const whole = prefix ? prefix.replace(/\.$/, '') : 'body';
  if (!isPlainObject(input)) throw new ValidationError(`${whole} must be an object with the policy's fields`, whole);
  const { key, enabled, ...rest } = withoutNulls(input) as Record<string, unknown>;
  const parsed = parsePolicyContent({ ...rest, principal: rest.principal ?? { type: 'all_members' } });
  if (!parsed.ok) {
    const issues = parsed.issues.map((i) => ({ field: i.field === '(content)' ? whole : `${prefix}${i.field}`, message: i.message }));
    throw new ValidationError(issues.map((i) => `${i.field} ${i.message}`).join('; '), issues[0].field);
  }
  const content = parsed.value;

  if (key !== undefined && (typeof key !== 'string' || key.length > POLICY_KEY_MAX || !POLICY_KEY_PATTERN.test(key))) {
    throw new ValidationError(
      `${prefix}key must be a slug of lower-case letters and digits separated by single dashes, such as "block-prod-deletes" (at most ${POLICY_KEY_MAX} characters)`,
      `${prefix}key`,
    );
  }
  if (enabled !== undefined && typeof enabled !== 'boolean') throw new ValidationError(`${prefix}enabled must be true or false`, `${prefix}enabled`);

  const connector = await repo.findConnector(db, content.service);
  if (!connector) {
    const known = (await repo.listConnectors(db)).map((c) => c.service);
    throw new ValidationError(
      `${prefix}service "${content.service}" has no connector installed${known.length ? `; known services: ${known.join(', ')}` : ''}`,
      `${prefix}service`,
    );
  }
  const catalog = new Set((await repo.listConnectorTools(db, [content.service])).map((t) => t.name));
  if (catalog.size > 0) {
    const unknown = content.tools.findIndex((tool) => !catalog.has(tool));
    if (unknown !== -1) {
      throw new ValidationError(`${prefix}tools[${unknown}] "${content.tools[unknown]}" is not a tool of service "${content.service}"`, `${prefix}tools[${unknown}]`);
    }
  }
  if (content.principal.type === 'specific_members') {
    const ids = content.principal.memberIds;
    const notUuid = ids.findIndex((id) => !UUID.test(id));
    if (notUuid !== -1) throw new ValidationError(`${prefix}principal.memberIds[${notUuid}] must be a member id (UUID)`, `${prefix}principal.memberIds[${notUuid}]`);
    const ofAgent = new Set((await repo.findMembersByIds(db, ids)).filter((m) => m.agent_id === agentId).map((m) => m.id));
    const stranger = ids.findIndex((id) => !ofAgent.has(id));
    if (stranger !== -1) {
      throw new ValidationError(`${prefix}principal.memberIds[${stranger}] ${ids[stranger]} is not a member of this agent`, `${prefix}principal.memberIds[${stranger}]`);
    }
  }
  return {
    content,
    namespace: connector.cedar_namespace,
    ...(key !== undefined ? { key: key as string } : {}),
    ...(enabled !== undefined ? { enabled: enabled as boolean } : {}),
  };
}

/**
 * Policies (spec §2): owners read and change them; anyone else gets 404, as for a missing policy
 * (members change nothing, and on trusted agents policy identities are hidden from members).
 * Every content change is a new immutable version; every change is recorded as admin activity in the
 * same transaction and then announced with `policies.changed`.
 */
export class PoliciesService {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly events: CoreEventBus,
  ) {}

  async list(access: Access, agentId: string): Promise<PolicyView[]> {
    assertUuid(agentId, 'agentId');
    access.assertOwner(agentId, 'agent', agentId);
    return (await repo.listPoliciesOfAgents(this.db, [agentId])).map(toView);
  }

  /** Per agent id, its policies; an empty list for agents the viewer does not own (batch loads). */
  async listForAgents(access: Access, agentIds: readonly string[]): Promise<PolicyView[][]> {
    const owned = agentIds.filter((id) => access.isOwner(id));
    const rows = await repo.listPoliciesOfAgents(this.db, owned);
    return agentIds.map((id) => rows.filter((r) => r.agent_id === id).map(toView));
  }

  async get(access: Access, id: string): Promise<PolicyView> {
    return toView(await this.ownedPolicy(access, id));
  }

  async versions(access: Access, id: string): Promise<PolicyVersionView[]> {
    await this.ownedPolicy(access, id);
    const [versions] = await this.versionsOfPolicies(access, [id]);
    return versions;
  }

  /** Per policy id, its versions newest first; empty for policies the viewer does not own (batch loads). */
  async versionsOfPolicies(access: Access, policyIds: readonly string[]): Promise<PolicyVersionView[][]> {
    const ids = policyIds.filter((id) => UUID.test(id));
    const rows = (await repo.listPolicyVersionsWithAuthors(this.db, ids)).filter((r) => access.isOwner(r.agent_id));
    const byPolicy = new Map<string, repo.PolicyVersionWithAuthorRow[]>();
    for (const row of rows) {
      const list = byPolicy.get(row.policy_id) ?? [];
      list.push(row);
      byPolicy.set(row.policy_id, list);
    }
    return policyIds.map((id) => (byPolicy.get(id) ?? []).map(toVersionView));
  }

  /** Creates an enabled (unless `enabled: false`) policy at version 1. Key: given or derived from the name. */
  async create(access: Access, agentId: string, input: PolicyInput): Promise<PolicyView> {
    assertUuid(agentId, 'agentId');
    access.assertOwner(agentId, 'agent', agentId);
    const prepared = await preparePolicyInput(this.db, agentId, input);
    const { content } = prepared;
    const key = prepared.key ?? derivePolicyKey(content.name);
    const enabled = prepared.enabled ?? true;
    const id = randomUUID();
    const cedar = compileCedar({ id, key, content, namespace: prepared.namespace });
    const conflict = () =>
      new ConflictError(
        `a policy with key "${key}" already exists on this agent; ${prepared.key ? 'choose another key' : 'give the policy a key, or another name'}`,
        'key',
      );
    try {
      await this.db.transaction().execute(async (trx) => {
        if (await repo.policyKeyExists(trx, agentId, key)) throw conflict();
        await repo.insertPolicy(trx, {
          id,
          agentId,
          key,
          name: content.name,
          service: content.service,
          effect: content.effect,
          enabled,
          content,
          cedar,
          createdBy: access.viewer.accountId,
        });
        await recordActivity(trx, access.viewer, {
          action: 'policy.created',
          targetType: 'policy',
          targetId: id,
          agentId,
          after: snapshot({ key, version: 1, enabled, content }),
        });
      });
    } catch (e) {
      if (isUniqueViolation(e)) throw conflict();
      throw e;
    }
    this.events.emit('policies.changed', { agentId });
    return this.get(access, id);
  }

  /**
   * Saves new content as a new immutable version, and `enabled` when given. Returns the policy unchanged
   * (no version, no activity) when nothing differs. The key cannot change: audit entries refer to it.
   */
  async save(access: Access, id: string, input: PolicyInput): Promise<PolicyView> {
    const current = await this.ownedPolicy(access, id);
    const agentId = current.agent_id;
    const prepared = await preparePolicyInput(this.db, agentId, input);
    if (prepared.key !== undefined && prepared.key !== current.key) {
      throw new ValidationError(`key cannot change (it is "${current.key}"): audit entries refer to policies by key; create a new policy instead`, 'key');
    }
    const { content } = prepared;
    const cedar = compileCedar({ id, key: current.key, content, namespace: prepared.namespace });
    const changed = await this.db.transaction().execute(async (trx) => {
      const before = await this.lockedPolicy(trx, id);
      const contentChanged = canonicalContent(before.content) !== canonicalJson(content);
      const enabled = prepared.enabled ?? before.enabled;
      if (!contentChanged && enabled === before.enabled) return false;
      let version = before.current_version;
      if (contentChanged) {
        const row = await repo.insertPolicyVersion(trx, {
          policyId: id,
          name: content.name,
          service: content.service,
          effect: content.effect,
          content,
          cedar,
          createdBy: access.viewer.accountId,
        });
        version = row.current_version;
      }
      if (enabled !== before.enabled) await repo.updatePolicyEnabled(trx, id, enabled);
      await recordActivity(trx, access.viewer, {
        action: 'policy.saved',
        targetType: 'policy',
        targetId: id,
        agentId,
        before: snapshot({ key: before.key, version: before.current_version, enabled: before.enabled, content: before.content }),
        after: snapshot({ key: before.key, version, enabled, content }),
      });
      return true;
    });
    if (changed) this.events.emit('policies.changed', { agentId });
    return this.get(access, id);
  }

  /** Saves an old version's content as a new version (spec §2). Unchanged when it is the current content. */
  async rollback(access: Access, id: string, version: number): Promise<PolicyView> {
    if (!Number.isInteger(version) || version < 1) throw new ValidationError('version must be a positive integer', 'version');
    const current = await this.ownedPolicy(access, id);
    const agentId = current.agent_id;
    const old = await repo.findPolicyVersion(this.db, id, version);
    if (!old) throw new ValidationError(`policy ${current.key} has no version ${version}; its versions are 1 to ${current.current_version}`, 'version');
    const parsed = parsePolicyContent(old.content);
    if (!parsed.ok) throw new ValidationError(`version ${version} cannot be restored: ${parsed.issues.map((i) => `${i.field} ${i.message}`).join('; ')}`, 'version');
    const content = parsed.value;
    const connector = await repo.findConnector(this.db, content.service);
    if (!connector) throw new ValidationError(`version ${version} targets service "${content.service}", which has no connector any more`, 'version');
    const cedar = compileCedar({ id, key: current.key, content, namespace: connector.cedar_namespace }, 'version');
    const changed = await this.db.transaction().execute(async (trx) => {
      const before = await this.lockedPolicy(trx, id);
      if (canonicalContent(before.content) === canonicalJson(content)) return false;
      const row = await repo.insertPolicyVersion(trx, {
        policyId: id,
        name: content.name,
        service: content.service,
        effect: content.effect,
        content,
        cedar,
        createdBy: access.viewer.accountId,
      });
      await recordActivity(trx, access.viewer, {
        action: 'policy.rolled_back',
        targetType: 'policy',
        targetId: id,
        agentId,
        before: snapshot({ key: before.key, version: before.current_version, enabled: before.enabled, content: before.content }),
        after: { ...snapshot({ key: before.key, version: row.current_version, enabled: before.enabled, content }), restoredFrom: version },
      });
      return true;
    });
    if (changed) this.events.emit('policies.changed', { agentId });
    return this.get(access, id);
  }

  /** Enables or disables without a new version; effective on the very next call. */
  async setEnabled(access: Access, id: string, enabled: boolean): Promise<PolicyView> {
    if (typeof enabled !== 'boolean') throw new ValidationError('enabled must be true or false', 'enabled');
    return this.changeEnabled(access, id, () => enabled);
  }

  /** Flips `enabled` (REST `POST /api/policies/:id/toggle`). */
  async toggle(access: Access, id: string): Promise<PolicyView> {
    return this.changeEnabled(access, id, (current) => !current);
  }

  private async changeEnabled(access: Access, id: string, next: (current: boolean) => boolean): Promise<PolicyView> {
    const { agent_id: agentId } = await this.ownedPolicy(access, id);
    const changed = await this.db.transaction().execute(async (trx) => {
      const before = await this.lockedPolicy(trx, id);
      const enabled = next(before.enabled);
      if (enabled === before.enabled) return false;
      await repo.updatePolicyEnabled(trx, id, enabled);
      await recordActivity(trx, access.viewer, {
        action: 'policy.enabled.set',
        targetType: 'policy',
        targetId: id,
        agentId,
        before: { key: before.key, enabled: before.enabled },
        after: { key: before.key, enabled },
      });
      return true;
    });
    if (changed) this.events.emit('policies.changed', { agentId });
    return this.get(access, id);
  }

  private async ownedPolicy(access: Access, id: string): Promise<repo.PolicyWithContentRow> {
    assertUuid(id, 'id');
    const row = await repo.findPolicyById(this.db, id);
    if (!row || !access.isOwner(row.agent_id)) throw new NotFoundError('policy', id);
    return row;
  }

  /** The policy row locked for the rest of the transaction, with its current content. */
  private async lockedPolicy(trx: Kysely<DB>, id: string): Promise<repo.PolicyWithContentRow> {
    await repo.lockPolicy(trx, id);
    const row = await repo.findPolicyById(trx, id);
    if (!row) throw new NotFoundError('policy', id);
    return row;
  }
}
