import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.ts';
import { openWsClient, sessionCookie, subscribeSse, subscribeWs, waitFor, writeAuditEntries, type WsClientHandle } from '../support/stream-clients.ts';

const POLICY_A = '11111111-1111-4111-8111-111111111111';
const POLICY_B = '22222222-2222-4222-8222-222222222222';

describe('live audit stream: filters and visibility', () => {
  let t: TestApp;
  let url: string;
  const clients: WsClientHandle[] = [];
  let owner: { token: string; account: { id: string; email: string } };
  let memberUser: { token: string; account: { id: string; email: string } };
  let otherMemberUser: { token: string; account: { id: string; email: string } };
  let stranger: { token: string; account: { id: string; email: string } };
  let agent: { id: string; name: string };
  let otherAgent: { id: string; name: string };
  let member: { id: string };
  let otherMember: { id: string };

  const ws = (auth: Parameters<typeof openWsClient>[1]) => {
    const c = openWsClient(url, auth);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    t = await startTestApp();
    url = await t.listen();
    owner = await t.f.accountWithToken();
    memberUser = await t.f.accountWithToken();
    otherMemberUser = await t.f.accountWithToken();
    stranger = await t.f.accountWithToken();
    agent = await t.f.agent({ name: 'Billing-Bot', owner: owner.account, trustMode: 'trusted' });
    otherAgent = await t.f.agent({ name: 'other-bot', owner: stranger.account });
    member = await t.f.member({ agentId: agent.id, account: memberUser.account });
    otherMember = await t.f.member({ agentId: agent.id, account: otherMemberUser.account });
  });

  afterAll(async () => {
    for (const c of clients) await c.dispose().catch(() => {});
    await t?.close();
  });

  /** A mixed batch covering every filter dimension. */
  const batch = () => [
    { agent_id: agent.id, agent_name: agent.name, member_id: member.id, service: 'github', tool: 'delete_file', decision: 'DENY', policy_id: POLICY_A, matched_policy_ids: [POLICY_A], matched_policies: [{ id: POLICY_A, key: 'no-deletes', name: 'No deletes', version: 2, effect: 'forbid' }] },
    { agent_id: agent.id, agent_name: agent.name, member_id: member.id, service: 'slack', tool: 'post_message', decision: 'ALLOW', matched_policy_ids: [POLICY_B], matched_policies: [{ id: POLICY_B, key: 'slack-ok', name: 'Slack ok', version: 1, effect: 'permit' }] },
    { agent_id: agent.id, agent_name: agent.name, member_id: otherMember.id, service: 'github', tool: 'list_repositories', decision: 'ALLOW' },
    { agent_id: otherAgent.id, agent_name: otherAgent.name, member_id: null, service: 'github', tool: 'delete_file', decision: 'DENY' },
  ];

  it('delivers live entries by filter and visibility, over graphql-ws and SSE alike', async () => {
    const ownerClient = ws({ token: owner.token });
    const memberClient = ws({ token: memberUser.token });
    const otherClient = ws({ token: otherMemberUser.token });
    const strangerClient = ws({ token: stranger.token });
    await Promise.all([ownerClient.connected, memberClient.connected, otherClient.connected, strangerClient.connected]);

    const subs = {
      ownerAll: subscribeWs(ownerClient.client),
      ownerDeny: subscribeWs(ownerClient.client, { filter: { result: 'DENY' } }),
      ownerGithub: subscribeWs(ownerClient.client, { filter: { service: 'github' } }),
      ownerTool: subscribeWs(ownerClient.client, { filter: { tool: 'DELETE' } }),
      ownerAgentName: subscribeWs(ownerClient.client, { filter: { agent: 'billing' } }),
      ownerMember: subscribeWs(ownerClient.client, { filter: { member: otherMember.id } }),
      ownerPolicy: subscribeWs(ownerClient.client, { filter: { policy: POLICY_B } }),
      ownerFuture: subscribeWs(ownerClient.client, { filter: { from: '2999-01-01' } }),
      member: subscribeWs(memberClient.client),
      otherMember: subscribeWs(otherClient.client),
      stranger: subscribeWs(strangerClient.client),
      sseOwnerDeny: subscribeSse(url, { token: owner.token }, { filter: { result: 'DENY' } }),
      sseMember: subscribeSse(url, { token: memberUser.token }),
    };
    expect(await subs.sseOwnerDeny.status).toBe(200);
    await waitFor(() => t.app.streamStats().feed.subscribers === Object.keys(subs).length, 10_000, 'all subscriptions registered');

    await writeAuditEntries(t.testDb.database, t.app.core, batch());
    const tools = (s: { events: { node: { tool: string; service: string } }[] }) => s.events.map((e) => `${e.node.service}/${e.node.tool}`);
    await waitFor(() => subs.ownerAll.events.length === 3 && subs.sseMember.events.length === 2 && subs.stranger.events.length === 1, 10_000, 'deliveries');
    // a little longer, to see that nothing else arrives
    await new Promise((r) => setTimeout(r, 300));

    expect(tools(subs.ownerAll)).toEqual(['github/delete_file', 'slack/post_message', 'github/list_repositories']);
    expect(tools(subs.ownerDeny)).toEqual(['github/delete_file']);
    expect(tools(subs.sseOwnerDeny)).toEqual(['github/delete_file']);
    expect(tools(subs.ownerGithub)).toEqual(['github/delete_file', 'github/list_repositories']);
    expect(tools(subs.ownerTool)).toEqual(['github/delete_file']);
    expect(tools(subs.ownerAgentName)).toHaveLength(3);
    expect(tools(subs.ownerMember)).toEqual(['github/list_repositories']);
    expect(tools(subs.ownerPolicy)).toEqual(['slack/post_message']);
    expect(tools(subs.ownerFuture)).toEqual([]);
    expect(tools(subs.member)).toEqual(['github/delete_file', 'slack/post_message']);
    expect(tools(subs.sseMember)).toEqual(['github/delete_file', 'slack/post_message']);
    expect(tools(subs.otherMember)).toEqual(['github/list_repositories']);
    expect(subs.stranger.events.map((e) => e.node.agentId)).toEqual([otherAgent.id]);

    // The owner sees policy identities; a member of a trusted agent does not.
    expect(subs.ownerAll.events[0].node).toMatchObject({ policyId: POLICY_A, matchedPolicyIds: ['no-deletes'] });
    expect(subs.member.events[0].node).toMatchObject({ policyId: null, matchedPolicyIds: [], matchedPolicyNames: [] });
    expect(subs.sseMember.events[0].node).toMatchObject({ policyId: null, matchedPolicyIds: [] });

    // Cursors are the list's cursors.
    const list = await t.graphql<any>('{ auditEntries(first: 10) { edges { cursor node { id } } } }', {}, owner.token);
    const listCursors = new Map(list.body.data.auditEntries.edges.map((e: any) => [e.node.id, e.cursor]));
    for (const e of subs.ownerAll.events) expect(e.cursor).toBe(listCursors.get(e.node.id));

    for (const s of Object.values(subs)) s.stop();
    await waitFor(() => t.app.streamStats().feed.subscribers === 0, 10_000, 'subscriptions released');
  });

  it('rejects bad filters and cursors with errors that name the argument', async () => {
    const c = ws({ token: owner.token });
    const bad = subscribeWs(c.client, { filter: { result: 'MAYBE' } });
    await bad.ended;
    expect(JSON.stringify(bad.errors)).toMatch(/MAYBE|result/);
    const badMember = subscribeWs(c.client, { filter: { member: 'not-a-uuid' } });
    await badMember.ended;
    expect(badMember.errors[0]).toMatchObject({ extensions: { code: 'VALIDATION_FAILED', field: 'member' } });
    const badCursor = subscribeWs(c.client, { after: 'bm90LWEtY3Vyc29y' });
    await badCursor.ended;
    expect(badCursor.errors[0]).toMatchObject({ extensions: { code: 'VALIDATION_FAILED', field: 'after' } });
  });

  it('closes an unauthenticated connection with 4401, and refuses SSE without credentials', async () => {
    const anonymous = ws({});
    expect((await anonymous.closed).code).toBe(4401);
    const wrong = ws({ token: 'wkt_not_a_real_token' });
    expect((await wrong.closed).code).toBe(4401);
    const sse = subscribeSse(url, {});
    await sse.ended;
    expect(JSON.stringify(sse.errors)).toMatch(/UNAUTHENTICATED/);
    expect(sse.events).toEqual([]);
  });

  it('accepts the console session cookie on the upgrade request, but not from a foreign page', async () => {
    const { cookie } = await sessionCookie(t.testDb.database, owner.account.id);
    const c = ws({ cookie });
    await c.connected;
    const s = subscribeWs(c.client, { filter: { result: 'DENY' } });
    await waitFor(() => t.app.streamStats().feed.subscribers === 1, 10_000, 'subscription');
    await writeAuditEntries(t.testDb.database, t.app.core, batch());
    await waitFor(() => s.events.length === 1, 10_000, 'delivery');
    s.stop();

    // A page from another origin carrying the cookie (cross-site WebSocket hijacking) is not signed in.
    const WebSocket = (await import('ws')).default;
    const foreign = await new Promise<number>((resolve) => {
      const sock = new WebSocket(`${url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws', { headers: { cookie, origin: 'https://evil.example' } });
      sock.on('open', () => sock.send(JSON.stringify({ type: 'connection_init', payload: {} })));
      sock.on('close', (code) => resolve(code));
    });
    expect(foreign).toBe(4401);
  });
});
