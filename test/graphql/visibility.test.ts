import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.ts';

/**
 * The visibility matrix of spec §2 on every GraphQL read: owner, member of the agent, member of another
 * agent, and no token.
 */
describe('GraphQL visibility', () => {
  let t: TestApp;
  const who: Record<'owner' | 'member' | 'otherMember' | 'untrustedMember', string> = {} as any;
  let trusted: { id: string };
  let untrusted: { id: string };
  let memberId: string;
  let untrustedMemberId: string;
  const entryIds: Record<string, string> = {};
  const policyRef = { id: randomUUID(), key: 'block-deletes', name: 'Block deletes', version: 3, effect: 'forbid' };

  beforeAll(async () => {
    t = await startTestApp();
    const owner = await t.f.accountWithToken({ email: 'owner@example.com' });
    const member = await t.f.accountWithToken({ email: 'member@example.com' });
    const other = await t.f.accountWithToken({ email: 'other@example.com' });
    const um = await t.f.accountWithToken({ email: 'um@example.com' });
    who.owner = owner.token;
    who.member = member.token;
    who.otherMember = other.token;
    who.untrustedMember = um.token;
    trusted = await t.f.agent({ name: 'trusted-agent', trustMode: 'trusted', owner: owner.account });
    untrusted = await t.f.agent({ name: 'untrusted-agent', trustMode: 'untrusted', owner: owner.account });
    const elsewhere = await t.f.agent({ name: 'elsewhere', owner: other.account });
    memberId = (await t.f.member({ agentId: trusted.id, account: member.account })).id;
    const colleague = (await t.f.member({ agentId: trusted.id })).id;
    untrustedMemberId = (await t.f.member({ agentId: untrusted.id, account: um.account })).id;
    const mk = (agent: { id: string; name?: string }, member_id: string | null, decision: 'ALLOW' | 'DENY') => ({
      agent_id: agent.id,
      agent_name: (agent as any).name ?? 'x',
      member_id,
      decision,
      policy_id: policyRef.id,
      reason: `Denied by policy "${policyRef.name}" (${policyRef.key})`,
      matched_policy_ids: [policyRef.id],
      matched_policies: [policyRef],
    });
    const rows = await t.f.auditEntries([
      mk(trusted, memberId, 'DENY'),
      mk(trusted, colleague, 'ALLOW'),
      mk(untrusted, untrustedMemberId, 'DENY'),
      mk(elsewhere, null, 'ALLOW'),
    ]);
    [entryIds.own, entryIds.colleague, entryIds.untrusted, entryIds.elsewhere] = rows.map((r) => r.id);
  });
  afterAll(async () => t?.close());

  const list = async (token?: string) => {
    const r = await t.graphql<any>(`{ auditEntries(first: 50) { edges { node { id policyId matchedPolicyIds matchedPolicyNames matchedPolicies { id } } } } }`, {}, token);
    return r;
  };

  it('owner sees every entry of the agents they own and nothing else', async () => {
    const r = await list(who.owner);
    const ids = r.body.data.auditEntries.edges.map((e: any) => e.node.id).sort();
    expect(ids).toEqual([entryIds.own, entryIds.colleague, entryIds.untrusted].sort());
    for (const e of r.body.data.auditEntries.edges) expect(e.node.matchedPolicyIds).toEqual(['block-deletes']);
  });

  it('a member of a trusted agent sees only their own entries, with policy identities hidden', async () => {
    const r = await list(who.member);
    expect(r.body.data.auditEntries.edges.map((e: any) => e.node)).toEqual([
      { id: entryIds.own, policyId: null, matchedPolicyIds: [], matchedPolicyNames: [], matchedPolicies: [] },
    ]);
    const one = await t.graphql<any>(`query($id: ID!) { auditEntry(id: $id) { reason } }`, { id: entryIds.own }, who.member);
    expect(one.body.data.auditEntry.reason).toBe('Denied by policy "[policy]" ([policy])');
    const owner = await t.graphql<any>(`query($id: ID!) { auditEntry(id: $id) { reason } }`, { id: entryIds.own }, who.owner);
    expect(owner.body.data.auditEntry.reason).toBe('Denied by policy "Block deletes" (block-deletes)');
  });

  it('a member of an untrusted agent sees their own entries with policy identities', async () => {
    const r = await list(who.untrustedMember);
    expect(r.body.data.auditEntries.edges.map((e: any) => e.node)).toEqual([
      { id: entryIds.untrusted, policyId: policyRef.id, matchedPolicyIds: ['block-deletes'], matchedPolicyNames: ['Block deletes'], matchedPolicies: [{ id: policyRef.id }] },
    ]);
  });

  it('a member of another agent sees none of these entries, and single lookups answer null', async () => {
    const r = await list(who.otherMember);
    expect(r.body.data.auditEntries.edges.map((e: any) => e.node.id)).toEqual([entryIds.elsewhere]);
    for (const id of [entryIds.own, entryIds.colleague]) {
      const one = await t.graphql<any>(`query($id: ID!) { auditEntry(id: $id) { id } }`, { id }, who.otherMember);
      expect(one.body.data.auditEntry).toBeNull();
    }
    const colleague = await t.graphql<any>(`query($id: ID!) { auditEntry(id: $id) { id } }`, { id: entryIds.colleague }, who.member);
    expect(colleague.body.data.auditEntry).toBeNull();
    const agent = await t.graphql<any>(`query($id: ID!) { agent(id: $id) { id } }`, { id: trusted.id }, who.otherMember);
    expect(agent.body.data.agent).toBeNull();
  });

  it('auditEntriesByIds answers the visible entries among the ids, in the order asked, and refuses bad ids', async () => {
    const q = `query($ids: [ID!]!) { auditEntriesByIds(ids: $ids) { id policyId durationMs } }`;
    const all = [entryIds.elsewhere, entryIds.colleague, entryIds.own, randomUUID(), entryIds.untrusted, entryIds.own];
    const owner = await t.graphql<any>(q, { ids: all }, who.owner);
    expect(owner.body.data.auditEntriesByIds.map((e: any) => e.id)).toEqual([entryIds.colleague, entryIds.own, entryIds.untrusted]);
    const member = await t.graphql<any>(q, { ids: all }, who.member);
    // The member's own entry only, with the policy identity hidden as everywhere else.
    expect(member.body.data.auditEntriesByIds).toEqual([{ id: entryIds.own, policyId: null, durationMs: null }]);
    const other = await t.graphql<any>(q, { ids: all }, who.otherMember);
    expect(other.body.data.auditEntriesByIds.map((e: any) => e.id)).toEqual([entryIds.elsewhere]);
    expect((await t.graphql<any>(q, { ids: [] }, who.owner)).body.data.auditEntriesByIds).toEqual([]);

    const bad = await t.graphql<any>(q, { ids: [entryIds.own, 'not-a-uuid'] }, who.owner);
    expect(bad.body.errors[0].extensions).toMatchObject({ code: 'VALIDATION_FAILED', field: 'ids[1]' });
    const many = await t.graphql<any>(q, { ids: Array.from({ length: 101 }, () => randomUUID()) }, who.owner);
    expect(many.body.errors[0].extensions).toMatchObject({ code: 'VALIDATION_FAILED', field: 'ids' });
    expect((await t.graphql<any>(q, { ids: [entryIds.own] })).status).toBe(401);
  });

  it('without a token every read is a 401', async () => {
    for (const q of ['{ auditEntries(first: 1) { edges { cursor } } }', '{ agents { totalCount } }', '{ members { id } }', '{ auditStats { total } }', '{ viewer { account { id } } }']) {
      const r = await t.graphql<any>(q);
      expect(r.status, q).toBe(401);
      expect(r.body.data ?? null).toBeNull();
    }
  });

  it('stats, agents and members follow the same visibility', async () => {
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const stats = async (token: string) =>
      (await t.graphql<any>(`query($f: AuditFilter) { auditStats(filter: $f) { total denied services { topDenyingPolicies { policyId } } } }`, { f: { from } }, token)).body.data
        .auditStats;
    expect((await stats(who.owner)).total).toBe(3);
    const m = await stats(who.member);
    expect(m.total).toBe(1);
    // Policies of the trusted agent are not named to its members in stats either.
    expect(m.services.flatMap((s: any) => s.topDenyingPolicies)).toEqual([]);
    expect((await stats(who.otherMember)).total).toBe(1);

    const agents = async (token: string) =>
      (await t.graphql<any>(`{ agents { totalCount edges { node { name viewerRole } } } }`, {}, token)).body.data.agents.edges.map((e: any) => `${e.node.name}:${e.node.viewerRole}`).sort();
    expect(await agents(who.owner)).toEqual(['trusted-agent:owner', 'untrusted-agent:owner']);
    expect(await agents(who.member)).toEqual(['trusted-agent:member']);

    const members = async (token: string) => (await t.graphql<any>(`{ members { id } }`, {}, token)).body.data.members.map((x: any) => x.id);
    expect(await members(who.member)).toEqual([memberId]);
    expect((await members(who.owner)).length).toBe(5);
  });

  it('a member cannot stop an agent; the attempt is NOT_FOUND and changes nothing', async () => {
    const r = await t.graphql<any>(
      `mutation($id: ID!) { setAgentStatus(id: $id, status: disabled) { __typename ... on NotFoundError { code } ... on AgentPayload { agent { status } } } }`,
      { id: trusted.id },
      who.member,
    );
    expect(r.body.data.setAgentStatus).toEqual({ __typename: 'NotFoundError', code: 'NOT_FOUND' });
    const row = await t.testDb.database.db.selectFrom('agents').select('status').where('id', '=', trusted.id).executeTakeFirstOrThrow();
    expect(row.status).toBe('active');
    const activity = await t.testDb.database.db.selectFrom('admin_activity').selectAll().execute();
    expect(activity).toHaveLength(0);
  });

  it('the owner stops the agent; the change is recorded as admin activity', async () => {
    const r = await t.graphql<any>(
      `mutation($id: ID!) { setAgentStatus(id: $id, status: disabled) { __typename ... on AgentPayload { agent { status } } } }`,
      { id: trusted.id },
      who.owner,
    );
    expect(r.body.data.setAgentStatus).toEqual({ __typename: 'AgentPayload', agent: { status: 'disabled' } });
    const activity = await t.testDb.database.db.selectFrom('admin_activity').selectAll().execute();
    expect(activity).toHaveLength(1);
    expect(activity[0]).toMatchObject({ action: 'agent.status.set', target_id: trusted.id, before: { status: 'active' }, after: { status: 'disabled' } });
  });
});
