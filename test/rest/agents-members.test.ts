import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repo } from '@wicket/db';
import { startTestApp, type TestApp } from '../support/app.ts';
import { jsonRequest, storedState } from '../support/rest.ts';

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describe('REST agents, members and keys', () => {
  let t: TestApp;
  let owner: { account: { id: string; email: string }; token: string };
  let member: { account: { id: string; email: string }; token: string };
  let other: { account: { id: string; email: string }; token: string };
  const agents: Record<string, string> = {};
  let memberId: string;
  let pendingId: string;

  beforeAll(async () => {
    t = await startTestApp();
    owner = await t.f.accountWithToken({ email: 'owner@example.com' });
    member = await t.f.accountWithToken({ email: 'member@example.com' });
    other = await t.f.accountWithToken({ email: 'other@example.com' });
    await t.f.connector({ service: 'github' });
    await t.f.connector({ service: 'slack', tools: [{ name: 'post_message' }] });
    const db = t.testDb.database.db;
    // lower-case names: the order is then the same under every collation
    const specs = [
      { name: 'alpha-ops', status: 'active', services: ['github', 'slack'], day: 3 },
      { name: 'bravo-billing', status: 'disabled', services: ['github'], day: 1 },
      { name: 'charlie-deploy', status: 'active', services: [], day: 4 },
      { name: 'delta-billing', status: 'active', services: ['slack'], day: 2 },
    ] as const;
    for (const s of specs) {
      const a = await t.f.agent({ name: s.name, status: s.status, owner: owner.account, services: [...s.services] });
      await db.updateTable('agents').set({ created_at: new Date(Date.UTC(2026, 0, s.day)), updated_at: new Date(Date.UTC(2026, 1, 10 - s.day)), tags: [`t-${s.day}`] }).where('id', '=', a.id).execute();
      agents[s.name] = a.id;
    }
    const echo = await t.f.agent({ name: 'echo-billing', owner: other.account, trustMode: 'untrusted', timezone: 'Europe/Paris' });
    agents['echo-billing'] = echo.id;
    memberId = (await t.f.member({ agentId: agents['alpha-ops'], account: member.account, displayName: 'Mia' })).id;
    await t.f.member({ agentId: echo.id, account: owner.account, displayName: 'Owner as member' });
    pendingId = (await t.f.member({ agentId: agents['alpha-ops'], status: 'pending', displayName: 'Pat' })).id;
  });
  afterAll(async () => t?.close());

  const list = async (q: string, token = owner.token) => {
    const res = await t.request(`/api/agents${q}`, { token });
    expect(res.status, q).toBe(200);
    return res.json();
  };

  it('GET /api/agents: agent JSON with the caller role and enabled services', async () => {
    const body = await list('');
    expect(Object.keys(body).sort()).toEqual(['agents', 'limit', 'nextOffset', 'offset', 'total']);
    expect(body).toMatchObject({ total: 5, limit: 50, offset: 0, nextOffset: null });
    expect(body.agents.map((a: any) => a.name)).toEqual(['alpha-ops', 'bravo-billing', 'charlie-deploy', 'delta-billing', 'echo-billing']);
    expect(body.agents[0]).toEqual({
      id: agents['alpha-ops'],
      name: 'alpha-ops',
      tags: ['t-3'],
      status: 'active',
      trustMode: 'trusted',
      timezone: 'UTC',
      role: 'owner',
      enabledServices: ['github', 'slack'],
      createdAt: '2026-01-03T00:00:00.000Z',
      updatedAt: '2026-02-07T00:00:00.000Z',
    });
    expect(body.agents[4]).toMatchObject({ name: 'echo-billing', role: 'member', trustMode: 'untrusted', timezone: 'Europe/Paris', enabledServices: [] });
  });

  it('GET /api/agents: search/name, status, role, sorting and paging', async () => {
    const names = (b: any) => b.agents.map((a: any) => a.name);
    expect(names(await list('?search=BILL'))).toEqual(['bravo-billing', 'delta-billing', 'echo-billing']);
    expect(names(await list('?name=bill'))).toEqual(['bravo-billing', 'delta-billing', 'echo-billing']);
    expect(names(await list('?search=%25'))).toEqual([]);
    expect(names(await list('?status=disabled'))).toEqual(['bravo-billing']);
    expect(names(await list('?role=member'))).toEqual(['echo-billing']);
    expect(names(await list('?role=owner&search=billing&status=active'))).toEqual(['delta-billing']);
    expect(names(await list('?role=owner&sortBy=createdAt'))).toEqual(['bravo-billing', 'delta-billing', 'alpha-ops', 'charlie-deploy']);
    expect(names(await list('?role=owner&sortBy=createdAt&sortDir=desc'))).toEqual(['charlie-deploy', 'alpha-ops', 'delta-billing', 'bravo-billing']);
    expect(names(await list('?role=owner&sortBy=updatedAt'))).toEqual(['charlie-deploy', 'alpha-ops', 'delta-billing', 'bravo-billing']);
    expect(names(await list('?sortBy=name&sortDir=DESC'))).toEqual(['echo-billing', 'delta-billing', 'charlie-deploy', 'bravo-billing', 'alpha-ops']);
    const statusSorted = names(await list('?role=owner&sortBy=status'));
    expect(statusSorted[0]).not.toBe('bravo-billing');
    expect(statusSorted[3]).toBe('bravo-billing');
    const p1 = await list('?limit=2');
    expect(p1).toMatchObject({ total: 5, limit: 2, offset: 0, nextOffset: 2 });
    const p3 = await list('?limit=2&offset=4');
    expect(p3).toMatchObject({ total: 5, limit: 2, offset: 4, nextOffset: null });
    expect(names(p3)).toEqual(['echo-billing']);
    const all = [...names(p1), ...names(await list('?limit=2&offset=2')), ...names(p3)];
    expect(all).toEqual(names(await list('')));
    expect(names(await list('', member.token))).toEqual(['alpha-ops']);
    expect((await list('', member.token)).agents[0].role).toBe('member');
  });

  it('PUT /api/agents/:id/status: the owner stops an agent, recorded as admin activity', async () => {
    const id = agents['alpha-ops'];
    const res = await t.request(`/api/agents/${id}/status`, jsonRequest('PUT', { status: 'disabled' }, owner.token));
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ id, name: 'alpha-ops', status: 'disabled', role: 'owner', enabledServices: ['github', 'slack'] });
    expect(body.updatedAt).toMatch(ISO);
    expect(new Date(body.updatedAt).getTime()).toBeGreaterThan(Date.UTC(2026, 1, 7));
    const db = t.testDb.database.db;
    expect((await db.selectFrom('agents').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status).toBe('disabled');
    const activity = await db.selectFrom('admin_activity').selectAll().where('agent_id', '=', id).where('action', '=', 'agent.status.set').execute();
    expect(activity).toHaveLength(1);
    expect(activity[0]).toMatchObject({ account_id: owner.account.id, target_type: 'agent', target_id: id, before: { status: 'active' }, after: { status: 'disabled' } });

    const again = await t.request(`/api/agents/${id}/status`, jsonRequest('PUT', { status: 'active' }, owner.token));
    expect((await again.json()).status).toBe('active');
    expect(await db.selectFrom('admin_activity').select('id').where('agent_id', '=', id).where('action', '=', 'agent.status.set').execute()).toHaveLength(2);
  });

  it('PUT /api/agents/:id/status: a member of the agent gets 404 and nothing changes', async () => {
    const before = await storedState(t);
    for (const [token, id] of [
      [member.token, agents['alpha-ops']],
      [owner.token, agents['echo-billing']],
      [other.token, agents['alpha-ops']],
    ]) {
      const res = await t.request(`/api/agents/${id}/status`, jsonRequest('PUT', { status: 'disabled' }, token));
      expect(res.status).toBe(404);
      expect((await res.json()).error).toMatchObject({ code: 'NOT_FOUND', param: null });
    }
    expect(await storedState(t)).toEqual(before);
  });

  it('GET /api/agents/:id/members: members with their active key (never the key itself)', async () => {
    const { keyId } = await t.f.memberKey(memberId);
    const body = await (await t.request(`/api/agents/${agents['alpha-ops']}/members`, { token: owner.token })).json();
    expect(body.members.map((m: any) => m.name).sort()).toEqual(['Mia', 'Owner', 'Pat']);
    const mia = body.members.find((m: any) => m.id === memberId);
    expect(mia).toEqual({
      id: memberId,
      name: 'Mia',
      email: 'member@example.com',
      agentId: agents['alpha-ops'],
      agentName: 'alpha-ops',
      role: 'member',
      status: 'approved',
      createdAt: expect.stringMatching(ISO),
      key: { keyId, suffix: expect.any(String), createdAt: expect.stringMatching(ISO) },
    });
    expect(body.members.find((m: any) => m.id === pendingId).key).toBeNull();
    const pending = await (await t.request(`/api/agents/${agents['alpha-ops']}/members?status=pending`, { token: owner.token })).json();
    expect(pending.members.map((m: any) => m.id)).toEqual([pendingId]);
  });

  it('PUT /api/agents/:id/members/:memberId/status: owners approve and reject, recorded', async () => {
    const path = `/api/agents/${agents['alpha-ops']}/members/${pendingId}/status`;
    const res = await t.request(path, jsonRequest('PUT', { status: 'approved' }, owner.token));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: pendingId, status: 'approved', name: 'Pat', key: null });
    const rejected = await (await t.request(path, jsonRequest('PUT', { status: 'rejected' }, owner.token))).json();
    expect(rejected.status).toBe('rejected');
    const db = t.testDb.database.db;
    const rows = await db.selectFrom('admin_activity').selectAll().where('target_id', '=', pendingId).orderBy('created_at').execute();
    expect(rows.map((r) => [r.action, r.before, r.after])).toEqual([
      ['member.status.set', { status: 'pending' }, { status: 'approved' }],
      ['member.status.set', { status: 'approved' }, { status: 'rejected' }],
    ]);
  });

  it('PUT/DELETE /api/agents/:id/members/:memberId/key: create, rotate (old key dead at once), revoke', async () => {
    const core = t.app.core;
    const db = t.testDb.database.db;
    const path = `/api/agents/${agents['alpha-ops']}/members/${memberId}/key`;

    const first = await t.request(path, { method: 'PUT', token: member.token });
    expect(first.status).toBe(200);
    expect(first.headers.get('cache-control')).toBe('no-store');
    const k1 = await first.json();
    expect(Object.keys(k1).sort()).toEqual(['key', 'keyId', 'suffix']);
    expect(k1.key.endsWith(k1.suffix)).toBe(true);
    expect((await repo.findCaller(db, core.secrets.digest(k1.key)))?.member_id).toBe(memberId);
    // only the digest is stored
    const stored = await db.selectFrom('member_keys').selectAll().where('member_id', '=', memberId).execute();
    expect(JSON.stringify(stored)).not.toContain(k1.key);

    const k2 = await (await t.request(path, { method: 'PUT', token: owner.token })).json();
    expect(k2.key).not.toBe(k1.key);
    expect(await repo.findCaller(db, core.secrets.digest(k1.key))).toBeUndefined();
    expect((await repo.findCaller(db, core.secrets.digest(k2.key)))?.member_id).toBe(memberId);
    const listed = await (await t.request(`/api/agents/${agents['alpha-ops']}/members`, { token: member.token })).json();
    expect(listed.members).toHaveLength(1);
    expect(listed.members[0].key).toMatchObject({ keyId: k2.keyId, suffix: k2.suffix });

    const revoked = await t.request(path, { method: 'DELETE', token: member.token });
    expect(revoked.status).toBe(200);
    expect(await revoked.json()).toMatchObject({ id: memberId, key: null });
    expect(await repo.findCaller(db, core.secrets.digest(k2.key))).toBeUndefined();
    const twice = await t.request(path, { method: 'DELETE', token: member.token });
    expect(twice.status).toBe(404);

    const actions = await db.selectFrom('admin_activity').select('action').where('target_id', '=', memberId).orderBy('created_at').execute();
    expect(actions.map((a) => a.action)).toEqual(['member.key.rotated', 'member.key.rotated', 'member.key.revoked']);
  });

  it('authenticates a console session cookie like a bearer token', async () => {
    const session = 'wks_test_session_token_0123456789';
    await repo.insertSession(t.testDb.database.db, { accountId: member.account.id, digest: t.app.core.secrets.digest(session), expiresAt: new Date(Date.now() + 3_600_000) });
    const res = await t.request('/api/agents', { headers: { Cookie: `theme=dark; wicket_session=${session}` } });
    expect(res.status).toBe(200);
    expect((await res.json()).agents.map((a: any) => a.name)).toEqual(['alpha-ops']);
    const expired = 'wks_test_expired_session_0123456789';
    await repo.insertSession(t.testDb.database.db, { accountId: member.account.id, digest: t.app.core.secrets.digest(expired), expiresAt: new Date(Date.now() - 1000) });
    expect((await t.request('/api/agents', { headers: { Cookie: `wicket_session=${expired}` } })).status).toBe(401);
  });

  it('serves the same answers over real HTTP', async () => {
    const base = await t.listen();
    const auth = { Authorization: `Bearer ${owner.token}` };
    const agentsRes = await fetch(`${base}/api/agents?search=delta`, { headers: auth });
    expect(agentsRes.status).toBe(200);
    expect((await agentsRes.json()).agents.map((a: any) => a.name)).toEqual(['delta-billing']);

    await t.f.auditEntries([
      { agent_id: agents['delta-billing'], agent_name: 'delta-billing', decision: 'DENY', tool: 'delete_file', reason: 'no, "really"', duration_ms: 12, timestamp: new Date('2026-03-01T10:00:00.500Z') },
      { agent_id: agents['delta-billing'], agent_name: 'delta-billing', decision: 'ALLOW', tool: 'list_repositories', timestamp: new Date('2026-03-01T09:00:00Z') },
    ]);
    const audit = await fetch(`${base}/api/audit?agentId=${agents['delta-billing']}&result=DENY`, { headers: auth });
    expect(audit.status).toBe(200);
    const entries = (await audit.json()).entries;
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ tool: 'delete_file', decision: 'DENY', reason: 'no, "really"', durationMs: 12 });

    const csv = await fetch(`${base}/api/audit/export?agentId=${agents['delta-billing']}&limit=1`, { headers: { ...auth, Origin: 'http://localhost:3000' } });
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(csv.headers.get('x-next-offset')).toBe('1');
    expect(csv.headers.get('access-control-expose-headers')).toMatch(/X-Next-Offset/i);
    expect(await csv.text()).toMatch(/^timestamp,agent,member,tool,service,resource,decision,reason,duration,matched_policies\r\n2026-03-01T10:00:00\.500Z,delta-billing,,delete_file,github,,DENY,"no, ""really""",12,\r\n$/);

    const put = await fetch(`${base}/api/agents/${agents['delta-billing']}/status`, { method: 'PUT', headers: { ...auth, 'Content-Type': 'application/json' }, body: '{"status":"disabled"}' });
    expect(put.status).toBe(200);
    expect((await put.json()).status).toBe('disabled');
    const bad = await fetch(`${base}/api/agents/${agents['delta-billing']}/status`, { method: 'PUT', headers: { ...auth, 'Content-Type': 'application/json' }, body: '{oops' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: { code: 'VALIDATION_FAILED', message: expect.any(String), param: 'body' } });
    const anonymous = await fetch(`${base}/api/audit`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('content-type')).toMatch(/^application\/json/);
  });
});
