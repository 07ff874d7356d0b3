import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.ts';
import { jsonRequest } from '../support/rest.ts';

const SIMULATE = `query($input: SimulateCallInput!) {
  simulate(input: $input) {
    __typename
    ... on SimulationResult {
      decision reason rule cedar time action principal resource
      matchedPolicies { id key name version effect }
      decidingPolicy { id key name version effect }
      draftPolicy { id key version }
    }
    ... on ValidationError { field message }
    ... on NotFoundError { message }
  }
}`;

describe('simulate a hypothetical call (spec §3, §4)', () => {
  let t: TestApp;
  let owner: { token: string; account: { id: string; email: string } };
  let memberToken: string;
  const agents = {} as Record<'trusted' | 'untrusted' | 'disabled' | 'noGithub' | 'other', string>;
  let approved: string;
  let pending: string;
  let otherMember: string;

  beforeAll(async () => {
    t = await startTestApp();
    owner = await t.f.accountWithToken({ email: 'owner@example.com' });
    await t.f.connector({ service: 'github' });
    await t.f.connector({ service: 'slack', tools: [{ name: 'post_message', tier: 'write' }] });
    agents.trusted = (await t.f.agent({ name: 'trusted-bot', trustMode: 'trusted', owner: owner.account, services: ['github', 'slack'], timezone: 'Europe/Paris' })).id;
    agents.untrusted = (await t.f.agent({ name: 'untrusted-bot', trustMode: 'untrusted', owner: owner.account, services: ['github'] })).id;
    agents.disabled = (await t.f.agent({ name: 'stopped-bot', status: 'disabled', owner: owner.account, services: ['github'] })).id;
    agents.noGithub = (await t.f.agent({ name: 'slack-only-bot', owner: owner.account, services: ['slack'] })).id;
    agents.other = (await t.f.agent({ name: 'other-bot', owner: owner.account, services: ['github'] })).id;
    const m = await t.f.accountWithToken();
    memberToken = m.token;
    approved = (await t.f.member({ agentId: agents.trusted, account: m.account, status: 'approved' })).id;
    pending = (await t.f.member({ agentId: agents.trusted, status: 'pending' })).id;
    otherMember = (await t.f.member({ agentId: agents.other, status: 'approved' })).id;
  });
  afterAll(async () => t?.close());

  const db = () => t.testDb.database.db;
  const simulate = async (input: Record<string, unknown>, token = owner.token) => {
    const r = await t.graphql(SIMULATE, { input }, token);
    expect(r.body.errors).toBeUndefined();
    return r.body.data.simulate;
  };
  async function createPolicy(agentId: string, input: Record<string, unknown>) {
    const res = await t.request(`/api/agents/${agentId}/policies`, jsonRequest('POST', input, owner.token));
    expect(res.status).toBe(201);
    return (await res.json()) as { id: string; key: string; name: string; version: number };
  }

  it('allows by default on a trusted agent and fails closed on an untrusted one', async () => {
    const trusted = await simulate({ agentId: agents.trusted, memberId: approved, service: 'github', tool: 'delete_file' });
    expect(trusted).toMatchObject({ __typename: 'SimulationResult', decision: 'ALLOW', rule: 'default_allow', matchedPolicies: [], decidingPolicy: null });
    expect(trusted.reason).toMatch(/trusted/);
    expect(trusted.cedar).toMatch(/No enabled policy targets service "github"/);
    const untrusted = await simulate({ agentId: agents.untrusted, service: 'github', tool: 'delete_file' });
    expect(untrusted).toMatchObject({ decision: 'DENY', rule: 'fail_closed' });
    expect(untrusted.reason).toMatch(/untrusted/);
  });

  it('lets a matching forbid beat a matching permit and names both, the forbid deciding', async () => {
    const permit = await createPolicy(agents.other, { name: 'Allow all github', service: 'github', effect: 'permit' });
    const forbid = await createPolicy(agents.other, { name: 'No deletes', service: 'github', effect: 'forbid', tools: ['delete_file'], denyMessage: 'Deleting files is off.' });
    const r = await simulate({ agentId: agents.other, memberId: otherMember, service: 'github', tool: 'delete_file', arguments: { path: 'a' } });
    expect(r).toMatchObject({ decision: 'DENY', rule: 'forbid', reason: 'Deleting files is off.' });
    expect(r.decidingPolicy).toEqual({ id: forbid.id, key: forbid.key, name: 'No deletes', version: 1, effect: 'forbid' });
    expect(r.matchedPolicies.map((p: { id: string }) => p.id).sort()).toEqual([permit.id, forbid.id].sort());
    expect(r.action).toBe('GithubMCP::Action::"delete_file"');
    expect(r.principal).toBe(`GithubMCP::Member::"${otherMember}"`);
    expect(cedar.checkParsePolicySet({ staticPolicies: r.cedar }).type).toBe('success');
    expect(r.cedar).toContain(`@id("${forbid.id}")`);
    expect(r.cedar).toContain(`@id("${permit.id}")`);

    const other = await simulate({ agentId: agents.other, memberId: otherMember, service: 'github', tool: 'create_issue' });
    expect(other).toMatchObject({ decision: 'ALLOW', rule: 'permit', decidingPolicy: { id: permit.id } });

    // A disabled policy no longer takes part.
    await t.request(`/api/policies/${forbid.id}/toggle`, { method: 'POST', token: owner.token });
    expect(await simulate({ agentId: agents.other, memberId: otherMember, service: 'github', tool: 'delete_file' })).toMatchObject({ decision: 'ALLOW', rule: 'permit' });
    await t.request(`/api/policies/${forbid.id}/toggle`, { method: 'POST', token: owner.token });
  });

  it('evaluates a draft: new, or replacing an existing policy, without saving it', async () => {
    const base = { agentId: agents.other, memberId: otherMember, service: 'github', tool: 'create_issue', arguments: { repo: 'acme/web' } };
    expect((await simulate(base)).decision).toBe('ALLOW');

    const draft = { name: 'No acme issues', service: 'github', effect: 'forbid', tools: ['create_issue'], conditions: [{ key: 'repo', op: 'startsWith', value: 'acme/' }] };
    const withDraft = await simulate({ ...base, draft });
    expect(withDraft).toMatchObject({ decision: 'DENY', rule: 'forbid', decidingPolicy: { id: 'draft', key: 'no-acme-issues', version: 1 }, draftPolicy: { id: 'draft' } });
    expect(withDraft.cedar).toContain('@id("draft")');
    expect((await simulate({ ...base, arguments: { repo: 'other/x' }, draft })).decision).toBe('ALLOW');
    // A condition on an argument the call lacks makes a forbid apply (fail closed).
    expect((await simulate({ ...base, arguments: {}, draft })).decision).toBe('DENY');

    const [forbid] = await db().selectFrom('policies').select(['id', 'key', 'current_version']).where('agent_id', '=', agents.other).where('key', '=', 'no-deletes').execute();
    const deleteCall = { ...base, tool: 'delete_file', arguments: {} };
    expect((await simulate(deleteCall)).decision).toBe('DENY');
    const narrowed = await simulate({ ...deleteCall, replacesPolicyId: forbid.id, draft: { name: 'No deletes', service: 'github', effect: 'forbid', tools: ['create_issue'] } });
    expect(narrowed).toMatchObject({ decision: 'ALLOW', rule: 'permit', draftPolicy: { id: forbid.id, key: 'no-deletes', version: forbid.current_version + 1 } });
    const disabled = await simulate({ ...deleteCall, replacesPolicyId: forbid.id, draft: { name: 'No deletes', service: 'github', effect: 'forbid', tools: ['delete_file'], enabled: false } });
    expect(disabled.decision).toBe('ALLOW');

    const stored = await db().selectFrom('policies').select(['current_version', 'enabled']).where('id', '=', forbid.id).executeTakeFirstOrThrow();
    expect(stored).toEqual({ current_version: forbid.current_version, enabled: true });
  });

  it('applies time windows in the agent timezone at the simulated time', async () => {
    await createPolicy(agents.trusted, { name: 'Slack in Paris office hours', service: 'slack', effect: 'permit', timeWindow: { daysOfWeek: [1, 2, 3, 4, 5], hoursFrom: 9, hoursTo: 17 } });
    const call = { agentId: agents.trusted, memberId: approved, service: 'slack', tool: 'post_message' };
    // Monday 2026-03-02 08:30 UTC = 09:30 in Paris; 17:30 UTC = 18:30 in Paris; Sunday is out.
    expect((await simulate({ ...call, time: '2026-03-02T08:30:00Z' })).decision).toBe('ALLOW');
    expect((await simulate({ ...call, time: '2026-03-02T17:30:00Z' })).decision).toBe('DENY');
    expect((await simulate({ ...call, time: '2026-03-01T10:00:00Z' })).decision).toBe('DENY');
  });

  it('applies the pre-checks of a real call first: disabled agent, unapproved member, service not enabled', async () => {
    await createPolicy(agents.disabled, { name: 'Allow github', service: 'github', effect: 'permit' });
    const disabled = await simulate({ agentId: agents.disabled, service: 'github', tool: 'list_repositories' });
    expect(disabled).toMatchObject({ decision: 'DENY', rule: 'agent_disabled', matchedPolicies: [] });
    expect(disabled.reason).toMatch(/disabled/);

    const pendingCall = await simulate({ agentId: agents.trusted, memberId: pending, service: 'github', tool: 'list_repositories' });
    expect(pendingCall).toMatchObject({ decision: 'DENY', rule: 'member_not_approved' });
    expect(pendingCall.reason).toMatch(/pending/);

    const notEnabled = await simulate({ agentId: agents.noGithub, service: 'github', tool: 'list_repositories' });
    expect(notEnabled).toMatchObject({ decision: 'DENY', rule: 'service_not_enabled' });
    expect(notEnabled.reason).toMatch(/not enabled/);
  });

  it('names the field of a bad input and hides agents the viewer does not own', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ agentId: agents.trusted, service: 'nope', tool: 'x' }, 'service'],
      [{ agentId: agents.trusted, memberId: otherMember, service: 'github', tool: 'x' }, 'memberId'],
      [{ agentId: agents.trusted, service: 'github', tool: 'x', callerIp: 'not-an-ip' }, 'callerIp'],
      [{ agentId: agents.trusted, service: 'github', tool: 'x', arguments: [1] }, 'arguments'],
      [{ agentId: agents.trusted, service: 'github', tool: 'x', draft: { name: 'd', service: 'github', effect: 'permit', timeWindow: { hoursFrom: 30 } } }, 'draft.timeWindow.hoursFrom'],
      [{ agentId: agents.trusted, service: 'github', tool: 'x', replacesPolicyId: '00000000-0000-4000-8000-000000000000', draft: { name: 'd', service: 'github', effect: 'permit' } }, 'replacesPolicyId'],
    ];
    for (const [input, field] of cases) {
      expect(await simulate(input), field).toMatchObject({ __typename: 'ValidationError', field });
    }
    expect(await simulate({ agentId: agents.trusted, service: 'github', tool: 'x' }, memberToken)).toMatchObject({ __typename: 'NotFoundError' });
  });

  it('answers over REST with mode "call" (the default) and 400 naming the parameter', async () => {
    const path = `/api/agents/${agents.other}/policies/simulate`;
    const res = await t.request(path, jsonRequest('POST', { mode: 'call', memberId: otherMember, service: 'github', tool: 'delete_file' }, owner.token));
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ mode: 'call', decision: 'DENY', rule: 'forbid', reason: 'Deleting files is off.', decidingPolicy: { key: 'no-deletes', version: 1 } });
    expect(typeof body.cedar).toBe('string');
    const byDefault = await t.request(path, jsonRequest('POST', { service: 'github', tool: 'create_issue' }, owner.token));
    expect((await byDefault.json()).decision).toBe('ALLOW');

    for (const [payload, param] of [
      [{ tool: 'x' }, 'service'],
      [{ mode: 'dance', service: 'github', tool: 'x' }, 'mode'],
      [{ service: 'github', tool: 'x', time: 'yesterday' }, 'time'],
      [{ service: 'github', tool: 'x', draft: { name: 'd', service: 'github', effect: 'forbid', denyMessage: 'x'.repeat(501) } }, 'draft.denyMessage'],
    ] as const) {
      const bad = await t.request(path, jsonRequest('POST', payload, owner.token));
      expect(bad.status, JSON.stringify(payload)).toBe(400);
      expect((await bad.json()).error.param).toBe(param);
    }
  });

  it('writes nothing: no audit entry, no admin activity, no policy change', async () => {
    const counts = async () => ({
      audit: (await db().selectFrom('audit_entries').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n,
      activity: (await db().selectFrom('admin_activity').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n,
      policies: await db().selectFrom('policies').selectAll().orderBy('id').execute(),
      versions: (await db().selectFrom('policy_versions').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n,
    });
    await t.f.auditEntries([{ agent_id: agents.other, agent_name: 'other-bot', member_id: otherMember, tool: 'create_issue', tool_args: { repo: 'acme/web' } }]);
    const before = await counts();
    const draft = { name: 'Draft', service: 'github', effect: 'forbid', tools: ['create_issue'] };
    expect((await simulate({ agentId: agents.other, memberId: otherMember, service: 'github', tool: 'create_issue', draft })).decision).toBe('DENY');
    expect((await simulate({ agentId: agents.disabled, service: 'github', tool: 'create_issue' })).rule).toBe('agent_disabled');
    const replay = await t.graphql(`query($input: ReplayInput!) { replay(input: $input) { __typename ... on ReplayResult { total changed } } }`, { input: { agentId: agents.other, draft } }, owner.token);
    expect(replay.body.data.replay).toEqual({ __typename: 'ReplayResult', total: 1, changed: 1 });
    const rest = [
      await t.request(`/api/agents/${agents.other}/policies/simulate`, jsonRequest('POST', { mode: 'replay', draft }, owner.token)),
      await t.request(`/api/agents/${agents.other}/policies/simulate`, jsonRequest('POST', { service: 'github', tool: 'delete_file', draft }, owner.token)),
    ];
    expect(rest.map((r) => r.status)).toEqual([200, 200]);
    expect(await counts()).toEqual(before);
  });
});
