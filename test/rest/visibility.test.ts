import { randomUUID } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.ts';
import { expectedEntryJson, newestFirst, seedAuditWorld, visibleTo, type AuditWorld } from '../support/audit-world.ts';
import { storedState } from '../support/rest.ts';

type Who = 'owner' | 'memberA' | 'memberB' | 'outsider';

describe('REST visibility (spec §2)', () => {
  let t: TestApp;
  let w: AuditWorld;
  const token = (who: Who) => w[who].token;

  beforeAll(async () => {
    t = await startTestApp();
    w = await seedAuditWorld(t);
  });
  afterAll(async () => t?.close());

  const READ_PATHS = () => [
    '/api/audit',
    '/api/audit/export',
    '/api/audit/members',
    '/api/agents',
    `/api/agents/${w.agents.billingBot}/members`,
  ];

  it('answers 401 JSON on every endpoint without a valid credential', async () => {
    const writes: [string, string, string?][] = [
      ['PUT', `/api/agents/${w.agents.billingBot}/status`, '{"status":"disabled"}'],
      ['PUT', `/api/agents/${w.agents.billingBot}/members/${w.memberB.memberId}/status`, '{"status":"rejected"}'],
      ['PUT', `/api/agents/${w.agents.billingBot}/members/${w.memberB.memberId}/key`],
      ['DELETE', `/api/agents/${w.agents.billingBot}/members/${w.memberB.memberId}/key`],
    ];
    const credentials: Record<string, string>[] = [
      {},
      { Authorization: 'Bearer wkt_not_a_real_token' },
      { Authorization: 'Basic dXNlcjpwYXNz' },
      { Cookie: 'wicket_session=wks_unknown' },
    ];
    for (const headers of credentials) {
      for (const path of READ_PATHS()) {
        const res = await t.request(path, { headers });
        expect(res.status, `${path} ${JSON.stringify(headers)}`).toBe(401);
        expect((await res.json()).error).toMatchObject({ code: 'UNAUTHENTICATED' });
      }
      for (const [method, path, body] of writes) {
        const res = await t.request(path, { method, headers, body });
        expect(res.status, `${method} ${path}`).toBe(401);
      }
    }
    // authentication comes before parameter checks: a bad parameter without a credential is still 401
    expect((await t.request('/api/audit?result=MAYBE')).status).toBe(401);
  });

  it('GET /api/audit: owners see their agents, members only their own entries, policy identities hidden on trusted agents', async () => {
    for (const who of ['owner', 'memberA', 'memberB', 'outsider'] as Who[]) {
      const body = await (await t.request('/api/audit', { token: token(who) })).json();
      const want = w.entries.filter(visibleTo(w, who)).sort(newestFirst);
      expect(body.entries.map((e: any) => e.id), who).toEqual(want.map((e) => e.id));
      const hides = (agentId: string) => who !== 'owner' && agentId !== w.agents.billingHelper && agentId !== w.agents.foreign;
      for (const [i, entry] of body.entries.entries()) {
        const { cursor: _c, upstreamStatus: _s, upstreamError: _e, ...legacy } = entry;
        expect(legacy).toEqual(expectedEntryJson(want[i], hides(want[i].agentId)));
      }
    }
    // Member A sees both kinds of agent, and entries there that carry matched policies.
    const a = w.entries.filter(visibleTo(w, 'memberA'));
    expect(a.some((e) => e.agentId === w.agents.billingBot && e.matchedPolicies.length > 0 && e.policyId)).toBe(true);
    expect(a.some((e) => e.agentId === w.agents.billingHelper && e.matchedPolicies.length > 0 && e.policyId)).toBe(true);
    const seen = (await (await t.request('/api/audit', { token: token('memberA') })).json()).entries;
    const onTrusted = seen.filter((e: any) => e.agentId === w.agents.billingBot);
    const onUntrusted = seen.filter((e: any) => e.agentId === w.agents.billingHelper);
    expect(onTrusted.every((e: any) => e.policyId === null && e.matchedPolicyIds.length === 0 && e.matchedPolicyNames.length === 0 && e.matchedPolicies.length === 0)).toBe(true);
    expect(onUntrusted.some((e: any) => e.policyId !== null && e.matchedPolicies.length > 0 && e.matchedPolicyNames.length > 0)).toBe(true);
  });

  it('GET /api/audit: filters cannot widen what a member sees', async () => {
    for (const q of [`member=${w.memberB.memberId}`, `agentId=${w.agents.deploy}`, `agent=deploy`, `member=${w.ownerMemberIds[w.agents.billingBot]}`]) {
      const body = await (await t.request(`/api/audit?${q}`, { token: token('memberA') })).json();
      expect(body.entries, q).toEqual([]);
    }
    const foreign = await (await t.request(`/api/audit?agentId=${w.agents.foreign}`, { token: token('owner') })).json();
    expect(foreign.entries).toEqual([]);
    const outsider = await (await t.request('/api/audit?agent=billing', { token: token('outsider') })).json();
    expect(outsider.entries.every((e: any) => e.agentId === w.agents.foreign && e.memberId === w.outsider.memberId)).toBe(true);
  });

  it('GET /api/audit/export: the same rows as the list for every viewer', async () => {
    for (const who of ['owner', 'memberA', 'memberB', 'outsider'] as Who[]) {
      const rows = parse(await (await t.request('/api/audit/export', { token: token(who) })).text(), { columns: true }) as Record<string, string>[];
      const want = w.entries.filter(visibleTo(w, who)).sort(newestFirst);
      expect(rows.map((r) => r.timestamp), who).toEqual(want.map((e) => e.timestamp.toISOString()));
      for (const [i, r] of rows.entries()) {
        const e = want[i];
        const hidden = who !== 'owner' && e.agentId === w.agents.billingBot;
        expect(r.matched_policies).toBe(hidden ? '' : e.matchedPolicies.map((p) => `${p.name} (v${p.version})`).join('; '));
      }
    }
  });

  it('GET /api/audit/members: every member of owned agents for owners, only their own memberships for members', async () => {
    const owner = (await (await t.request('/api/audit/members', { token: token('owner') })).json()).members;
    expect(owner).toHaveLength(3 + 2 + 2);
    expect(new Set(owner.map((m: any) => m.agentId))).toEqual(new Set([w.agents.billingBot, w.agents.billingHelper, w.agents.deploy]));
    const alice = owner.find((m: any) => m.id === w.memberA.onTrusted);
    expect(alice).toEqual({
      id: w.memberA.onTrusted,
      name: 'Alice (bot)',
      email: w.memberA.email,
      agentId: w.agents.billingBot,
      agentName: 'Billing-Bot',
      role: 'member',
      status: 'approved',
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    });
    expect(owner.find((m: any) => m.name === 'Carol')).toMatchObject({ status: 'pending', agentName: 'Deploy Agent' });

    const a = (await (await t.request('/api/audit/members', { token: token('memberA') })).json()).members;
    expect(a.map((m: any) => m.id).sort()).toEqual([w.memberA.onTrusted, w.memberA.onUntrusted].sort());
    const o = (await (await t.request('/api/audit/members', { token: token('outsider') })).json()).members;
    expect(o.map((m: any) => m.id)).toEqual([w.outsider.memberId]);
    const scoped = (await (await t.request(`/api/audit/members?agentId=${w.agents.deploy}&status=pending`, { token: token('owner') })).json()).members;
    expect(scoped.map((m: any) => m.name)).toEqual(['Carol']);
    const foreign = (await (await t.request(`/api/audit/members?agentId=${w.agents.foreign}`, { token: token('owner') })).json()).members;
    expect(foreign).toEqual([]);
  });

  it('GET /api/agents: the agents the caller belongs to, with the caller role', async () => {
    // sorted here: name order is the database collation's (C on the test servers, locale elsewhere)
    const names = async (who: Who) =>
      (await (await t.request('/api/agents', { token: token(who) })).json()).agents.map((a: any) => `${a.name}:${a.role}`).sort();
    expect(await names('owner')).toEqual(['Billing-Bot:owner', 'Deploy Agent:owner', 'billing helper:owner'].sort());
    expect(await names('memberA')).toEqual(['Billing-Bot:member', 'billing helper:member'].sort());
    expect(await names('outsider')).toEqual(['Secret Billing:member']);
    const search = (await (await t.request('/api/agents?search=billing', { token: token('owner') })).json()).agents.map((a: any) => a.name);
    expect(search.sort()).toEqual(['Billing-Bot', 'billing helper'].sort());
  });

  it('GET /api/agents/:id/members: all for the owner, own for a member, 404 for anyone else', async () => {
    const path = `/api/agents/${w.agents.billingBot}/members`;
    const owner = (await (await t.request(path, { token: token('owner') })).json()).members;
    expect(owner.map((m: any) => m.id).sort()).toEqual([w.ownerMemberIds[w.agents.billingBot], w.memberA.onTrusted, w.memberB.memberId].sort());
    const a = (await (await t.request(path, { token: token('memberA') })).json()).members;
    expect(a.map((m: any) => m.id)).toEqual([w.memberA.onTrusted]);
    for (const [who, p] of [
      ['outsider', path],
      ['owner', `/api/agents/${w.agents.foreign}/members`],
      ['owner', `/api/agents/${randomUUID()}/members`],
      ['memberB', `/api/agents/${w.agents.billingHelper}/members`],
    ] as [Who, string][]) {
      const res = await t.request(p, { token: token(who) });
      expect(res.status, `${who} ${p}`).toBe(404);
      expect((await res.json()).error).toMatchObject({ code: 'NOT_FOUND' });
    }
  });

  it('answers 404, not 403, for changes to objects the caller cannot see or may not change', async () => {
    const json = { 'Content-Type': 'application/json' };
    const cases: [Who, string, string, string?][] = [
      ['owner', 'PUT', `/api/agents/${w.agents.foreign}/status`, '{"status":"disabled"}'],
      ['memberA', 'PUT', `/api/agents/${w.agents.billingBot}/status`, '{"status":"disabled"}'],
      ['owner', 'PUT', `/api/agents/${randomUUID()}/status`, '{"status":"disabled"}'],
      ['owner', 'PUT', `/api/agents/${w.agents.foreign}/members/${w.outsider.memberId}/status`, '{"status":"rejected"}'],
      ['memberA', 'PUT', `/api/agents/${w.agents.billingBot}/members/${w.memberB.memberId}/status`, '{"status":"rejected"}'],
      ['memberA', 'PUT', `/api/agents/${w.agents.billingBot}/members/${w.memberA.onTrusted}/status`, '{"status":"approved"}'],
      // a member id paired with an agent it does not belong to
      ['owner', 'PUT', `/api/agents/${w.agents.deploy}/members/${w.memberB.memberId}/status`, '{"status":"rejected"}'],
      ['owner', 'PUT', `/api/agents/${w.agents.foreign}/members/${w.outsider.memberId}/key`],
      ['memberA', 'PUT', `/api/agents/${w.agents.billingBot}/members/${w.memberB.memberId}/key`],
      ['owner', 'DELETE', `/api/agents/${w.agents.foreign}/members/${w.outsider.memberId}/key`],
      ['memberB', 'DELETE', `/api/agents/${w.agents.billingBot}/members/${w.memberA.onTrusted}/key`],
    ];
    const before = await storedState(t);
    for (const [who, method, path, body] of cases) {
      const res = await t.request(path, { method, token: token(who), headers: json, body });
      expect(res.status, `${who} ${method} ${path}`).toBe(404);
      expect((await res.json()).error.code).toBe('NOT_FOUND');
    }
    expect(await storedState(t)).toEqual(before);
  });
});
