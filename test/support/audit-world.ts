import { randomUUID } from 'node:crypto';
import type { TestApp } from './app.ts';

/**
 * A seeded installation for audit read tests: one owner with three agents (trusted and untrusted),
 * members on them, a foreign agent, and a few hundred varied entries with deliberate timestamp ties.
 * The rows are kept as plain objects so a test can compute its own expectation with JS.
 */

export interface SeededPolicy {
  id: string;
  key: string;
  name: string;
  effect: 'permit' | 'forbid';
  agentId: string;
}

export interface SeededEntry {
  id: string;
  timestamp: Date;
  agentId: string;
  agentName: string;
  memberId: string | null;
  memberName: string;
  memberKeyId: string | null;
  sessionId: string | null;
  service: string;
  tool: string;
  action: string;
  resource: string;
  callerIp: string | null;
  toolArgs: Record<string, unknown>;
  decision: 'ALLOW' | 'DENY';
  reason: string;
  policyId: string | null;
  matchedPolicies: { id: string; key: string; name: string; version: number; effect: 'permit' | 'forbid' }[];
  durationMs: number | null;
  principal: string;
  upstreamStatus: string | null;
}

/** Deterministic PRNG (mulberry32) so a failure reproduces. */
export function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)],
    chance: (p: number) => next() < p,
  };
}

export const DAY = 86_400_000;
export const BASE = Date.UTC(2026, 2, 1); // 2026-03-01T00:00:00Z

/** Timestamps many rows share, including both sides of day boundaries. */
export function timestampPool(rand: ReturnType<typeof prng>, size: number): number[] {
  const special = [
    BASE + 2 * DAY, // 2026-03-03T00:00:00.000Z
    BASE + 2 * DAY - 1, // 2026-03-02T23:59:59.999Z
    BASE + 3 * DAY - 1,
    BASE + 3 * DAY,
    BASE + DAY + 10 * 3_600_000, // 2026-03-02T10:00:00Z = 12:00+02:00
    BASE + 2 * DAY + 6 * 3_600_000 + 30 * 60_000, // 2026-03-03T06:30:00Z
  ];
  const pool = [...special];
  while (pool.length < size) pool.push(BASE + rand.int(5 * DAY));
  return pool;
}

const TOOLS: Record<string, string[]> = {
  github: ['list_repositories', 'create_issue', 'delete_file', 'Search_Issues'],
  slack: ['post_message', 'list_channels', 'delete_message'],
  linear: ['create_issue', 'get_user'],
};

export interface AuditWorld {
  owner: { id: string; email: string; token: string };
  /** member of Billing-Bot (trusted) and of billing helper (untrusted) */
  memberA: { id: string; email: string; token: string; onTrusted: string; onUntrusted: string };
  /** member of Billing-Bot only */
  memberB: { id: string; email: string; token: string; memberId: string };
  /** member of the foreign agent only */
  outsider: { id: string; email: string; token: string; memberId: string };
  foreignOwner: { id: string; email: string; token: string };
  agents: { billingBot: string; billingHelper: string; deploy: string; foreign: string };
  agentNames: Record<string, string>;
  ownerMemberIds: Record<string, string>;
  policies: SeededPolicy[];
  entries: SeededEntry[];
}

export async function seedAuditWorld(
  t: TestApp,
  options: { count?: number; seed?: number; decorate?: (e: SeededEntry, rand: ReturnType<typeof prng>) => void } = {},
): Promise<AuditWorld> {
  const rand = prng(options.seed ?? 20260301);
  const f = t.f;
  const owner = await f.accountWithToken({ email: 'owner@example.com', name: 'Olive Owner' });
  const a = await f.accountWithToken({ email: 'alice@example.com', name: 'Alice' });
  const b = await f.accountWithToken({ email: 'bob@example.com', name: 'Bob' });
  const c = await f.accountWithToken({ email: 'carol@example.com', name: 'Carol' });
  const x = await f.accountWithToken({ email: 'xavier@example.com', name: 'Xavier' });
  const o = await f.accountWithToken({ email: 'oscar@example.com', name: 'Oscar' });

  await f.connector({ service: 'github' });
  await f.connector({ service: 'slack', tools: TOOLS.slack.map((name) => ({ name })) });
  await f.connector({ service: 'linear', tools: TOOLS.linear.map((name) => ({ name })) });

  const billingBot = await f.agent({ name: 'Billing-Bot', trustMode: 'trusted', owner: owner.account, services: ['github', 'slack'] });
  const billingHelper = await f.agent({ name: 'billing helper', trustMode: 'untrusted', owner: owner.account, services: ['github'] });
  const deploy = await f.agent({ name: 'Deploy Agent', trustMode: 'trusted', owner: owner.account, services: ['linear'] });
  const foreign = await f.agent({ name: 'Secret Billing', trustMode: 'untrusted', owner: x.account, services: ['github'] });

  const members = await t.testDb.database.db.selectFrom('members').select(['id', 'agent_id', 'account_id', 'display_name']).execute();
  const ownerMemberIds: Record<string, string> = {};
  for (const m of members) if (m.account_id === owner.account.id) ownerMemberIds[m.agent_id] = m.id;
  const foreignOwnerMember = members.find((m) => m.account_id === x.account.id)!.id;

  const aBot = await f.member({ agentId: billingBot.id, account: a.account, displayName: 'Alice (bot)' });
  const aHelper = await f.member({ agentId: billingHelper.id, account: a.account, displayName: 'Alice (helper)' });
  const bBot = await f.member({ agentId: billingBot.id, account: b.account, displayName: 'Bob' });
  const cDeploy = await f.member({ agentId: deploy.id, account: c.account, displayName: 'Carol', status: 'pending' });
  const oForeign = await f.member({ agentId: foreign.id, account: o.account, displayName: 'Oscar' });

  const membersByAgent: Record<string, { id: string; name: string }[]> = {
    [billingBot.id]: [
      { id: ownerMemberIds[billingBot.id], name: 'Owner' },
      { id: aBot.id, name: 'Alice (bot)' },
      { id: bBot.id, name: 'Bob' },
    ],
    [billingHelper.id]: [
      { id: ownerMemberIds[billingHelper.id], name: 'Owner' },
      { id: aHelper.id, name: 'Alice (helper)' },
    ],
    [deploy.id]: [
      { id: ownerMemberIds[deploy.id], name: 'Owner' },
      { id: cDeploy.id, name: 'Carol' },
    ],
    [foreign.id]: [
      { id: foreignOwnerMember, name: 'Owner' },
      { id: oForeign.id, name: 'Oscar' },
    ],
  };

  const policy = (agentId: string, key: string, name: string, effect: 'permit' | 'forbid'): SeededPolicy => ({ id: randomUUID(), key, name, effect, agentId });
  const policies = [
    policy(billingBot.id, 'allow-reads', 'Allow reads', 'permit'),
    policy(billingBot.id, 'no-deletes', 'No deletes', 'forbid'),
    policy(billingHelper.id, 'helper-reads', 'Helper reads', 'permit'),
    policy(billingHelper.id, 'helper-forbid', 'Helper forbid', 'forbid'),
    policy(deploy.id, 'deploy-all', 'Deploy all', 'permit'),
    policy(foreign.id, 'secret-policy', 'Secret policy', 'permit'),
  ];

  const agentNames: Record<string, string> = {
    [billingBot.id]: billingBot.name,
    [billingHelper.id]: billingHelper.name,
    [deploy.id]: deploy.name,
    [foreign.id]: foreign.name,
  };
  const services: Record<string, string[]> = {
    [billingBot.id]: ['github', 'slack'],
    [billingHelper.id]: ['github'],
    [deploy.id]: ['linear', 'github'],
    [foreign.id]: ['github'],
  };

  const pool = timestampPool(rand, 110);
  const count = options.count ?? 300;
  const entries: SeededEntry[] = [];
  for (let i = 0; i < count + 30; i++) {
    const agentId = i >= count ? foreign.id : rand.pick([billingBot.id, billingBot.id, billingHelper.id, deploy.id]);
    const service = rand.pick(services[agentId]);
    const tool = rand.pick(TOOLS[service]);
    const member = rand.chance(0.1) ? null : rand.pick(membersByAgent[agentId]);
    const own = policies.filter((p) => p.agentId === agentId);
    const matched = own.filter(() => rand.chance(0.45)).map((p) => ({ id: p.id, key: p.key, name: p.name, version: 1 + rand.int(3), effect: p.effect }));
    const decision: 'ALLOW' | 'DENY' = matched.some((p) => p.effect === 'forbid') || rand.chance(0.3) ? 'DENY' : 'ALLOW';
    const decider = matched.find((p) => (decision === 'DENY' ? p.effect === 'forbid' : p.effect === 'permit')) ?? null;
    entries.push({
      id: randomUUID(),
      timestamp: new Date(rand.pick(pool)),
      agentId,
      agentName: agentNames[agentId],
      memberId: member?.id ?? null,
      memberName: member?.name ?? '',
      memberKeyId: member ? `mk_${member.id.slice(0, 8)}` : null,
      sessionId: rand.chance(0.5) ? `sess-${rand.int(5)}` : null,
      service,
      tool,
      action: `${service[0].toUpperCase()}${service.slice(1)}MCP::Action::"${tool}"`,
      resource: rand.chance(0.5) ? `repo:acme/${rand.pick(['web', 'api', 'infra'])}` : '',
      callerIp: rand.chance(0.8) ? `10.0.${rand.int(4)}.${rand.int(250)}` : null,
      toolArgs: { path: `src/${rand.int(100)}.ts`, token: '[REDACTED]' },
      decision,
      reason: decision === 'DENY' ? (decider ? `Denied by ${decider.name}` : 'No policy permits this call') : decider ? `Allowed by ${decider.name}` : 'Default allow',
      policyId: decider?.id ?? null,
      matchedPolicies: matched,
      durationMs: rand.chance(0.85) ? rand.int(2000) : null,
      principal: member ? `Member::"${member.id}"` : '',
      upstreamStatus: decision === 'ALLOW' ? 'ok' : null,
    });
    options.decorate?.(entries[entries.length - 1], rand);
  }
  await insertSeededEntries(t, entries);

  return {
    owner: { id: owner.account.id, email: owner.account.email, token: owner.token },
    memberA: { id: a.account.id, email: a.account.email, token: a.token, onTrusted: aBot.id, onUntrusted: aHelper.id },
    memberB: { id: b.account.id, email: b.account.email, token: b.token, memberId: bBot.id },
    outsider: { id: o.account.id, email: o.account.email, token: o.token, memberId: oForeign.id },
    foreignOwner: { id: x.account.id, email: x.account.email, token: x.token },
    agents: { billingBot: billingBot.id, billingHelper: billingHelper.id, deploy: deploy.id, foreign: foreign.id },
    agentNames,
    ownerMemberIds,
    policies,
    entries,
  };
}

/** Stores seeded entries as the proxy would have (ids chosen here so tests know them). */
export async function insertSeededEntries(t: TestApp, entries: SeededEntry[]): Promise<void> {
  const rows = entries.map((e) => ({
    id: e.id,
    timestamp: e.timestamp,
    agent_id: e.agentId,
    agent_name: e.agentName,
    member_id: e.memberId,
    member_name: e.memberName,
    member_key_id: e.memberKeyId,
    session_id: e.sessionId,
    service: e.service,
    tool: e.tool,
    action: e.action,
    resource: e.resource,
    caller_ip: e.callerIp,
    tool_args: e.toolArgs as any,
    decision: e.decision,
    reason: e.reason,
    policy_id: e.policyId,
    matched_policy_ids: e.matchedPolicies.map((p) => p.id),
    matched_policies: e.matchedPolicies as any,
    duration_ms: e.durationMs,
    principal: e.principal,
    upstream_status: e.upstreamStatus,
  }));
  for (let i = 0; i < rows.length; i += 100) await t.f.auditEntries(rows.slice(i, i + 100));
}

/** The list order of spec §6: timestamp, then id, descending. */
export function newestFirst(a: SeededEntry, b: SeededEntry): number {
  const dt = b.timestamp.getTime() - a.timestamp.getTime();
  if (dt !== 0) return dt;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/** What a viewer sees (spec §2): all entries of owned agents, and their own entries as a member. */
export function visibleTo(world: AuditWorld, who: 'owner' | 'memberA' | 'memberB' | 'outsider' | 'foreignOwner'): (e: SeededEntry) => boolean {
  const owned = new Set(
    who === 'owner' ? [world.agents.billingBot, world.agents.billingHelper, world.agents.deploy] : who === 'foreignOwner' ? [world.agents.foreign] : [],
  );
  const own = new Set(
    who === 'memberA' ? [world.memberA.onTrusted, world.memberA.onUntrusted] : who === 'memberB' ? [world.memberB.memberId] : who === 'outsider' ? [world.outsider.memberId] : [],
  );
  return (e) => owned.has(e.agentId) || (e.memberId !== null && own.has(e.memberId));
}

/** The reason as a viewer from whom policy identities are hidden reads it: names and keys masked. */
export function expectedReason(e: SeededEntry, hidePolicies: boolean): string {
  if (!hidePolicies) return e.reason;
  let out = e.reason;
  for (const p of e.matchedPolicies) for (const w of [p.name, p.key, p.id]) out = out.split(w).join('[policy]');
  return out;
}

/** The §5 JSON of an entry as a viewer sees it (policy identities hidden from members of trusted agents). */
export function expectedEntryJson(e: SeededEntry, hidePolicies: boolean) {
  const matched = hidePolicies ? [] : e.matchedPolicies;
  return {
    id: e.id,
    timestamp: e.timestamp.toISOString(),
    agentId: e.agentId,
    agentName: e.agentName,
    memberId: e.memberId,
    memberName: e.memberName,
    memberKeyId: e.memberKeyId,
    sessionId: e.sessionId,
    service: e.service,
    tool: e.tool,
    action: e.action,
    resource: e.resource,
    callerIp: e.callerIp,
    toolArgs: e.toolArgs,
    decision: e.decision,
    reason: expectedReason(e, hidePolicies),
    matchedPolicyIds: matched.map((p) => p.key),
    matchedPolicyNames: matched.map((p) => p.name),
    durationMs: e.durationMs,
    principal: e.principal,
    policyId: hidePolicies ? null : e.policyId,
    matchedPolicies: matched,
  };
}

/** Fetches every page of /api/audit for a query (offset paging) and returns the entries in order. */
export async function fetchAllAuditPages(t: TestApp, token: string, query: URLSearchParams, limit = 500): Promise<any[]> {
  const out: any[] = [];
  let offset = 0;
  for (let guard = 0; guard < 1000; guard++) {
    const q = new URLSearchParams(query);
    q.set('limit', String(limit));
    q.set('offset', String(offset));
    const res = await t.request(`/api/audit?${q}`, { token });
    if (res.status !== 200) throw new Error(`GET /api/audit?${q} answered ${res.status}: ${await res.text()}`);
    const body = await res.json();
    out.push(...body.entries);
    if (body.nextOffset === null) return out;
    offset = body.nextOffset;
  }
  throw new Error('paging did not end');
}
