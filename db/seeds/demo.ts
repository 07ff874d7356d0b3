import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Core } from '@wicket/core';
import { repo, type DB, type NewAuditEntryRow } from '@wicket/db';
import { compilePolicyToCedar } from '@wicket/policy';
import { connectorOf, demoCatalogs } from '@wicket/upstream-demo';
import {
  DEFAULT_OWNER_EMAIL,
  DEMO_DAYS,
  DEMO_SEED,
  DemoWorld,
  HOUR_MS,
  catalogOf,
  demoAccounts,
  demoAgents,
  demoPolicies,
  policyEnabledAt,
  policyEvents,
  statusAt,
  type AccountKey,
  type AgentKey,
  type DemoIds,
  type SimulatedEntry,
} from './demo-model.ts';
import { Random } from './random.ts';

export interface InstallDemoOptions {
  /** The first owner's email (default admin@wicket.local); an existing account with it is reused. */
  ownerEmail?: string;
  /** The installation time; the history covers the 30 days before it. */
  now?: Date;
  /** Multiplies the simulated traffic: 1 gives about 5,000 audit entries over 30 days. */
  volume?: number;
  seed?: number;
}

export interface DemoInstallResult {
  /** False when the database already had agents: nothing was changed. */
  installed: boolean;
  ownerAccountId?: string;
  counts: { accounts: number; agents: number; members: number; memberKeys: number; policies: number; policyVersions: number; auditEntries: number; adminActivity: number };
}

/** The activity row that marks a demo installation; generate() reads its time to replay the same history. */
export const DEMO_MARKER_ACTION = 'demo.installed';

const INSERT_BATCH = 1000;

/** An installation is empty until it has an agent (the first owner account may already exist). */
export async function isInstallationEmpty(db: Kysely<DB>): Promise<boolean> {
  return !(await db.selectFrom('agents').select('id').limit(1).executeTakeFirst());
}

function toAuditRow(e: SimulatedEntry): NewAuditEntryRow {
  return { ...e, tool_args: JSON.stringify(e.tool_args), matched_policies: JSON.stringify(e.matched_policies) };
}

/**
 * On an empty database, a believable installation: accounts, four agents (one untrusted, one disabled),
 * members (one pending, one rejected), member keys (digests only: the clear keys are thrown away), the
 * GitHub, Slack and Linear connectors with their catalogs and a sealed placeholder credential, policies
 * with their version history, admin activity, and 30 days of audit entries decided by the policy engine.
 * Deterministic for a given seed and installation time, apart from database-generated ids and the keys.
 */
export async function installDemo(core: Core, options: InstallDemoOptions = {}): Promise<DemoInstallResult> {
  const counts = { accounts: 0, agents: 0, members: 0, memberKeys: 0, policies: 0, policyVersions: 0, auditEntries: 0, adminActivity: 0 };
  const ownerEmail = options.ownerEmail ?? DEFAULT_OWNER_EMAIL;
  if (!(await isInstallationEmpty(core.db))) {
    const owner = await repo.findAccountByEmail(core.db, ownerEmail);
    return { installed: false, ownerAccountId: owner?.id, counts };
  }
  const now = options.now ?? new Date();
  const rand = new Random(options.seed ?? DEMO_SEED);

  // Idempotent upserts, outside the transaction below (the service opens its own).
  for (const catalog of demoCatalogs) {
    await core.connectors.upsert(connectorOf(catalog, { upstreamUrl: null, credentials: `demo-${catalog.service}-credential (placeholder, not a real token)` }));
  }

  let ownerAccountId = '';
  await core.db.transaction().execute(async (trx) => {
    const hoursAgo = (h: number) => new Date(Math.floor(now.getTime() / HOUR_MS) * HOUR_MS + h * HOUR_MS);
    const ids: DemoIds = { accounts: {} as DemoIds['accounts'], accountNames: {} as DemoIds['accountNames'], agents: {} as DemoIds['agents'], members: {}, policies: {}, keys: {} };

    for (const a of demoAccounts) {
      const email = a.key === 'owner' ? ownerEmail : a.email;
      const existing = await repo.findAccountByEmail(trx, email);
      const row = existing ?? (await repo.insertAccount(trx, { email, name: a.name }));
      if (!existing) {
        await trx.updateTable('accounts').set({ created_at: hoursAgo(-62 * 24) }).where('id', '=', row.id).execute();
        counts.accounts++;
      }
      ids.accounts[a.key] = row.id;
      ids.accountNames[a.key] = row.name || a.name;
    }
    ownerAccountId = ids.accounts.owner;

    const activity: { account_id: string | null; agent_id: string | null; action: string; target_type: string; target_id: string | null; before: string | null; after: string | null; created_at: Date }[] = [];
    const record = (at: Date, account: AccountKey, agentId: string | null, action: string, target: [string, string | null], before?: unknown, after?: unknown) =>
      activity.push({
        account_id: ids.accounts[account],
        agent_id: agentId,
        action,
        target_type: target[0],
        target_id: target[1],
        before: before === undefined ? null : JSON.stringify(before),
        after: after === undefined ? null : JSON.stringify(after),
        created_at: at,
      });

    for (const spec of demoAgents) {
      const status = statusAt(spec.statuses, 0);
      const row = await repo.insertAgent(trx, { name: spec.name, tags: spec.tags, status, trustMode: spec.trustMode, timezone: spec.timezone, createdBy: ids.accounts.owner });
      const lastChange = spec.statuses[spec.statuses.length - 1].at;
      await trx.updateTable('agents').set({ created_at: hoursAgo(spec.createdAt), updated_at: hoursAgo(lastChange) }).where('id', '=', row.id).execute();
      for (const service of spec.services) await repo.enableAgentService(trx, row.id, service);
      ids.agents[spec.key] = row.id;
      counts.agents++;
      record(hoursAgo(spec.createdAt), 'owner', row.id, 'agent.created', ['agent', row.id], undefined, { name: spec.name, trustMode: spec.trustMode, services: spec.services });
      spec.statuses.slice(1).forEach((s, i) =>
        record(hoursAgo(s.at), 'owner', row.id, 'agent.status.set', ['agent', row.id], { status: spec.statuses[i].status }, { status: s.status }),
      );

      for (const m of spec.members) {
        const member = await repo.insertMember(trx, {
          agentId: row.id,
          accountId: ids.accounts[m.account],
          role: m.role,
          status: statusAt(m.statuses, 0),
          displayName: ids.accountNames[m.account],
          email: m.account === 'owner' ? ownerEmail : demoAccounts.find((a) => a.key === m.account)!.email,
        });
        const joined = m.statuses[0].at;
        await trx
          .updateTable('members')
          .set({ created_at: hoursAgo(joined), updated_at: hoursAgo(m.statuses[m.statuses.length - 1].at) })
          .where('id', '=', member.id)
          .execute();
        ids.members[`${spec.key}:${m.account}`] = member.id;
        counts.members++;
        m.statuses.slice(1).forEach((s, i) =>
          record(hoursAgo(s.at), 'owner', row.id, 'member.status.set', ['member', member.id], { status: m.statuses[i].status }, { status: s.status }),
        );

        // A key from the first approval, then one per rotation; each rotation revokes the previous key.
        const approvedAt = m.statuses.find((s) => s.status === 'approved')?.at;
        if (approvedAt === undefined) continue;
        const issued = [approvedAt, ...(m.rotations ?? [])];
        ids.keys[member.id] = [];
        for (let i = 0; i < issued.length; i++) {
          const keyId = `mk_${rand.hex(12)}`;
          const key = core.secrets.generate('wk_', 32);
          const created = await repo.insertMemberKey(trx, { memberId: member.id, keyId, digest: core.secrets.digest(key), suffix: key.slice(-4) });
          const revokedAt = i + 1 < issued.length ? hoursAgo(issued[i + 1]) : null;
          await trx.updateTable('member_keys').set({ created_at: hoursAgo(issued[i]), revoked_at: revokedAt }).where('id', '=', created.id).execute();
          ids.keys[member.id].push({ keyId, from: hoursAgo(issued[i]).getTime() });
          counts.memberKeys++;
          record(hoursAgo(issued[i]), m.account, row.id, i === 0 ? 'member.key.created' : 'member.key.rotated', ['member', member.id], undefined, { keyId, suffix: created.suffix });
        }
      }
    }

    for (const p of demoPolicies) ids.policies[`${p.agent}:${p.key}`] = randomUUID();
    const world = new DemoWorld(ids, now, rand);

    for (const p of demoPolicies) {
      const id = ids.policies[`${p.agent}:${p.key}`];
      const agentId = ids.agents[p.agent];
      const contents = p.versions.map((v) => v.content((account) => world.memberId(p.agent as AgentKey, account)));
      for (let i = 0; i < p.versions.length; i++) {
        const content = contents[i];
        const cedar = compilePolicyToCedar({ id, key: p.key, content, namespace: catalogOf(content.service).cedarNamespace });
        const common = { name: content.name, service: content.service, effect: content.effect, content, cedar, createdBy: ids.accounts[p.author], createdAt: hoursAgo(p.versions[i].at) };
        if (i === 0) await repo.insertPolicy(trx, { id, agentId, key: p.key, enabled: policyEnabledAt(p, 0), ...common });
        else await repo.insertPolicyVersion(trx, { policyId: id, ...common });
        counts.policyVersions++;
      }
      counts.policies++;
      for (const e of policyEvents(p)) {
        const at = hoursAgo(e.at);
        const target: [string, string] = ['policy', id];
        if (e.kind === 'created') record(at, p.author, agentId, 'policy.created', target, undefined, { key: p.key, version: 1, enabled: e.enabled, content: contents[0] });
        else if (e.kind === 'saved') {
          record(at, p.author, agentId, 'policy.saved', target, { key: p.key, version: e.version - 1, enabled: e.enabled, content: contents[e.version - 2] }, { key: p.key, version: e.version, enabled: e.enabled, content: contents[e.version - 1] });
        } else record(at, p.author, agentId, 'policy.enabled.set', target, { key: p.key, enabled: !e.enabled }, { key: p.key, enabled: e.enabled });
      }
      const lastToggle = p.toggles?.[p.toggles.length - 1]?.at;
      if (lastToggle !== undefined && lastToggle > p.versions[p.versions.length - 1].at) {
        await trx.updateTable('policies').set({ updated_at: hoursAgo(lastToggle) }).where('id', '=', id).execute();
      }
    }

    // Thirty days of traffic, hour by hour, written oldest first as the proxy would have.
    let batch: NewAuditEntryRow[] = [];
    const first = world.anchor - DEMO_DAYS * 24 * HOUR_MS;
    for (let hour = first; hour <= world.anchor; hour += HOUR_MS) {
      for (const e of world.simulateHour(hour, options.volume ?? 1)) {
        if (e.timestamp.getTime() > now.getTime()) continue;
        batch.push(toAuditRow(e));
        if (batch.length >= INSERT_BATCH) {
          await repo.insertAuditEntries(trx, batch);
          counts.auditEntries += batch.length;
          batch = [];
        }
      }
    }
    if (batch.length) await repo.insertAuditEntries(trx, batch);
    counts.auditEntries += batch.length;

    record(now, 'owner', null, DEMO_MARKER_ACTION, ['installation', null], undefined, { seed: options.seed ?? DEMO_SEED, installedAt: now.toISOString(), auditEntries: counts.auditEntries });
    activity.sort((a, b) => a.created_at.getTime() - b.created_at.getTime());
    await trx.insertInto('admin_activity').values(activity).execute();
    counts.adminActivity = activity.length;
  });

  return { installed: true, ownerAccountId, counts };
}

/**
 * The demo's world bound to the ids an earlier installDemo() stored, anchored at its installation time,
 * so generated traffic replays the same history (policy versions, the disabled agent, the rejected member).
 */
export async function loadDemoWorld(db: Kysely<DB>, rand = new Random(DEMO_SEED)): Promise<DemoWorld> {
  const missing = () => new Error('this database has no demo installation: run `npm run seed` on an empty database first');
  const agents = await db.selectFrom('agents').select(['id', 'name', 'created_by']).where('name', 'in', demoAgents.map((a) => a.name)).execute();
  if (agents.length !== demoAgents.length) throw missing();
  const ids: DemoIds = { accounts: {} as DemoIds['accounts'], accountNames: {} as DemoIds['accountNames'], agents: {} as DemoIds['agents'], members: {}, policies: {}, keys: {} };
  for (const spec of demoAgents) ids.agents[spec.key] = agents.find((a) => a.name === spec.name)!.id;
  const agentKey = new Map(demoAgents.map((a) => [ids.agents[a.key], a.key]));

  const members = await db.selectFrom('members').innerJoin('accounts', 'accounts.id', 'members.account_id').select(['members.id', 'members.agent_id', 'members.display_name', 'accounts.id as account_id', 'accounts.email']).where('members.agent_id', 'in', agents.map((a) => a.id)).execute();
  const ownerId = agents[0].created_by;
  for (const m of members) {
    const account = m.account_id === ownerId ? demoAccounts[0] : demoAccounts.find((a) => a.key !== 'owner' && a.email === m.email);
    if (!account) continue;
    ids.accounts[account.key] = m.account_id;
    ids.accountNames[account.key] = m.display_name;
    ids.members[`${agentKey.get(m.agent_id)}:${account.key}`] = m.id;
  }

  const policies = await db.selectFrom('policies').select(['id', 'agent_id', 'key']).where('agent_id', 'in', agents.map((a) => a.id)).execute();
  for (const p of policies) ids.policies[`${agentKey.get(p.agent_id)}:${p.key}`] = p.id;
  if (demoPolicies.some((p) => !ids.policies[`${p.agent}:${p.key}`])) throw missing();

  const keys = await db.selectFrom('member_keys').select(['member_id', 'key_id', 'created_at']).where('member_id', 'in', members.map((m) => m.id)).orderBy('created_at').execute();
  for (const k of keys) (ids.keys[k.member_id] ??= []).push({ keyId: k.key_id, from: new Date(k.created_at).getTime() });

  const marker = await db.selectFrom('admin_activity').select(['after', 'created_at']).where('action', '=', DEMO_MARKER_ACTION).orderBy('created_at', 'desc').limit(1).executeTakeFirst();
  const installedAt = (marker?.after as { installedAt?: string } | null)?.installedAt;
  return new DemoWorld(ids, installedAt ? new Date(installedAt) : new Date(), rand);
}
