import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.ts';
import { seedAuditWorld, type AuditWorld } from '../support/audit-world.ts';
import { storedState } from '../support/rest.ts';

interface BadCase {
  method?: string;
  path: string;
  body?: string;
  contentType?: string | null;
  param: string;
}

describe('REST input validation: every bad parameter is a 400 naming it, and changes nothing', () => {
  let t: TestApp;
  let w: AuditWorld;

  beforeAll(async () => {
    t = await startTestApp();
    w = await seedAuditWorld(t, { count: 40 });
  });
  afterAll(async () => t?.close());

  const cases = (): BadCase[] => {
    const agent = w.agents.billingBot;
    const member = w.memberB.memberId;
    const auditCases = (base: string): BadCase[] => [
      { path: `${base}?result=MAYBE`, param: 'result' },
      { path: `${base}?result=ALLOW&result=DENY`, param: 'result' },
      { path: `${base}?service=Git%20Hub`, param: 'service' },
      { path: `${base}?member=not-a-uuid`, param: 'member' },
      { path: `${base}?member=${member.slice(0, 35)}`, param: 'member' },
      { path: `${base}?policy=123`, param: 'policy' },
      { path: `${base}?agentId=x`, param: 'agentId' },
      { path: `${base}?from=yesterday`, param: 'from' },
      { path: `${base}?from=2026-13-01`, param: 'from' },
      { path: `${base}?from=2026-03-01T25:00:00Z`, param: 'from' },
      { path: `${base}?to=2026-02-30`, param: 'to' },
      { path: `${base}?to=03/01/2026`, param: 'to' },
      { path: `${base}?from=2026-03-05&to=2026-03-01`, param: 'from' },
      { path: `${base}?from=2026-03-02T00:00:01Z&to=2026-03-02T00:00:00Z`, param: 'from' },
      { path: `${base}?limit=0`, param: 'limit' },
      { path: `${base}?limit=501`, param: 'limit' },
      { path: `${base}?limit=-5`, param: 'limit' },
      { path: `${base}?limit=abc`, param: 'limit' },
      { path: `${base}?limit=1.5`, param: 'limit' },
      { path: `${base}?limit=10&limit=20`, param: 'limit' },
      { path: `${base}?offset=-1`, param: 'offset' },
      { path: `${base}?offset=2.5`, param: 'offset' },
      { path: `${base}?offset=x`, param: 'offset' },
    ];
    return [
      ...auditCases('/api/audit'),
      ...auditCases('/api/audit/export'),
      { path: '/api/audit/members?agentId=zzz', param: 'agentId' },
      { path: '/api/audit/members?status=bogus', param: 'status' },
      { path: '/api/agents?sortBy=size', param: 'sortBy' },
      { path: '/api/agents?sortDir=up', param: 'sortDir' },
      { path: '/api/agents?status=paused', param: 'status' },
      { path: '/api/agents?role=admin', param: 'role' },
      { path: '/api/agents?limit=0', param: 'limit' },
      { path: '/api/agents?limit=501', param: 'limit' },
      { path: '/api/agents?limit=ten', param: 'limit' },
      { path: '/api/agents?offset=-3', param: 'offset' },
      { path: '/api/agents?search=a&search=b', param: 'search' },
      { method: 'PUT', path: '/api/agents/not-a-uuid/status', body: '{"status":"disabled"}', param: 'id' },
      { method: 'PUT', path: `/api/agents/${agent}/status`, body: '{"status": "disabled"', param: 'body' },
      { method: 'PUT', path: `/api/agents/${agent}/status`, body: '', param: 'body' },
      { method: 'PUT', path: `/api/agents/${agent}/status`, body: '[]', param: 'body' },
      { method: 'PUT', path: `/api/agents/${agent}/status`, body: '"disabled"', param: 'body' },
      { method: 'PUT', path: `/api/agents/${agent}/status`, body: 'status=disabled', contentType: 'application/x-www-form-urlencoded', param: 'body' },
      { method: 'PUT', path: `/api/agents/${agent}/status`, body: '{}', param: 'status' },
      { method: 'PUT', path: `/api/agents/${agent}/status`, body: '{"status":"paused"}', param: 'status' },
      { method: 'PUT', path: `/api/agents/${agent}/status`, body: '{"status":false}', param: 'status' },
      { method: 'PUT', path: `/api/agents/${agent}/status`, body: '{"status":"DISABLED"}', param: 'status' },
      { path: '/api/agents/123/members', param: 'id' },
      { path: `/api/agents/${agent}/members?status=gone`, param: 'status' },
      { method: 'PUT', path: `/api/agents/${agent}/members/nope/status`, body: '{"status":"approved"}', param: 'memberId' },
      { method: 'PUT', path: `/api/agents/nope/members/${member}/status`, body: '{"status":"approved"}', param: 'id' },
      { method: 'PUT', path: `/api/agents/${agent}/members/${member}/status`, body: '{"status":"pending"}', param: 'status' },
      { method: 'PUT', path: `/api/agents/${agent}/members/${member}/status`, body: '{"status":', param: 'body' },
      { method: 'PUT', path: `/api/agents/${agent}/members/${w.ownerMemberIds[agent]}/status`, body: '{"status":"rejected"}', param: 'status' },
      { method: 'PUT', path: `/api/agents/${agent}/members/nope/key`, param: 'memberId' },
      { method: 'DELETE', path: `/api/agents/x/members/${member}/key`, param: 'id' },
    ];
  };

  it('answers each bad input with 400, the error shape, and the parameter it names', async () => {
    const before = await storedState(t);
    const failures: string[] = [];
    for (const c of cases()) {
      const headers: Record<string, string> = {};
      if (c.body !== undefined && c.contentType !== null) headers['Content-Type'] = c.contentType ?? 'application/json';
      const res = await t.request(c.path, { method: c.method ?? 'GET', token: w.owner.token, headers, body: c.body });
      const text = await res.text();
      let body: any;
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
      const ok =
        res.status === 400 &&
        body?.error?.code === 'VALIDATION_FAILED' &&
        body.error.param === c.param &&
        typeof body.error.message === 'string' &&
        body.error.message.length > 0 &&
        Object.keys(body.error).sort().join() === 'code,message,param';
      if (!ok) failures.push(`${c.method ?? 'GET'} ${c.path} ${c.body ?? ''} -> ${res.status} ${text} (want param ${c.param})`);
    }
    expect(failures).toEqual([]);
    expect(await storedState(t)).toEqual(before);
  });

  it('accepts a JSON body without a JSON content type (curl -d), as legacy scripts send it', async () => {
    const res = await t.request(`/api/agents/${w.agents.deploy}/status`, {
      method: 'PUT',
      token: w.owner.token,
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: '{"status":"active"}',
    });
    expect(res.status).toBe(200);
    expect((await res.json()).status).toBe('active');
  });

  it('masks unexpected failures as 500 INTERNAL and logs them once', async () => {
    const core = t.app.core;
    const boom = new Error('database exploded: secret detail');
    const list = vi.spyOn(core.audit, 'listByOffset').mockRejectedValueOnce(boom);
    const log = vi.spyOn(core.logger, 'error');
    try {
      const res = await t.request('/api/audit', { token: w.owner.token });
      expect(res.status).toBe(500);
      const body = await res.json();
      expect(body).toEqual({ error: { code: 'INTERNAL', message: 'internal error', param: null } });
      expect(JSON.stringify(body)).not.toContain('secret detail');
      expect(log).toHaveBeenCalledTimes(1);
      expect(log.mock.calls[0][0]).toMatchObject({ err: boom, method: 'GET', path: '/api/audit' });
    } finally {
      list.mockRestore();
      log.mockRestore();
    }
  });

  it('answers unknown routes under /api with a JSON 404', async () => {
    const res = await t.request('/api/nothing-here', { token: w.owner.token });
    expect(res.status).toBe(404);
    expect((await res.json()).error.code).toBe('NOT_FOUND');
  });
});
