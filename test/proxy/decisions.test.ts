import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { startProxyWorld, type CallerSetup, type ProxyWorld } from './harness.ts';

// Spec §3 through the live proxy: decisions, time windows in the agent's timezone, and changes that must
// apply to the very next call. Policies are created through core (the same use case the APIs call).

describe('live decisions through POST /mcp', () => {
  let w: ProxyWorld;

  beforeAll(async () => {
    // X-Forwarded-For is believed for one hop here, so tests can choose the caller's IP.
    w = await startProxyWorld({ proxy: { trustedProxyHops: 1 } });
  });
  afterAll(async () => w?.close());

  async function decide(c: { key: string }, name: string, args: Record<string, unknown> = {}, ip?: string) {
    const r = await w.callTool(c.key, name, args, ip ? { 'X-Forwarded-For': ip } : undefined);
    const allowed = r.status === 200 && r.body.result !== undefined;
    return { status: r.status, allowed, code: r.body.error?.code as number | undefined, message: (r.body.error?.message ?? '') as string };
  }

  async function lastEntry(agentId: string) {
    const rows = await w.entries(agentId);
    return rows[rows.length - 1];
  }

  it('a matching forbid beats a matching permit', async () => {
    const c = await w.caller({ trustMode: 'untrusted', services: ['github'] });
    const permit = await w.policy(c.agent.id, { name: 'All of github', service: 'github', effect: 'permit', principal: { type: 'all_members' } });
    const forbid = await w.policy(c.agent.id, { name: 'No issues', service: 'github', effect: 'forbid', tools: ['create_issue'], principal: { type: 'all_members' } });
    const denied = await decide(c, 'github__create_issue', { owner: 'a', repo: 'b', title: 't' });
    expect(denied).toMatchObject({ status: 200, allowed: false, code: -32600 });
    let e = await lastEntry(c.agent.id);
    expect(e).toMatchObject({ decision: 'DENY', policy_id: forbid.id });
    expect([...e.matched_policy_ids].sort()).toEqual([permit.id, forbid.id].sort());
    expect(denied.message).toContain(e.reason);

    expect((await decide(c, 'github__list_repositories', { owner: 'a' })).allowed).toBe(true);
    e = await lastEntry(c.agent.id);
    expect(e).toMatchObject({ decision: 'ALLOW', policy_id: permit.id, matched_policy_ids: [permit.id] });
  });

  it('default allow for a trusted agent with no policy on the service; fail closed for an untrusted one', async () => {
    const trusted = await w.caller({ trustMode: 'trusted' });
    await w.policy(trusted.agent.id, { name: 'Slack reads', service: 'slack', effect: 'permit', tools: ['list_channels'], principal: { type: 'all_members' } });
    expect((await decide(trusted, 'github__list_repositories', { owner: 'a' })).allowed).toBe(true);
    let e = await lastEntry(trusted.agent.id);
    expect(e.decision).toBe('ALLOW');
    expect(e.reason).toMatch(/by default.*trusted/i);
    // Policies exist for slack, none permits this tool: denied (rule 4).
    expect((await decide(trusted, 'slack__post_message', { channel: 'C1', text: 'hi' })).allowed).toBe(false);

    const untrusted = await w.caller({ trustMode: 'untrusted' });
    const r = await decide(untrusted, 'github__list_repositories', { owner: 'a' });
    expect(r).toMatchObject({ allowed: false, status: 200, code: -32600 });
    e = await lastEntry(untrusted.agent.id);
    expect(e.decision).toBe('DENY');
    expect(e.reason).toMatch(/fail closed/i);
    expect(r.message).toMatch(/fail closed/i);
  });

  it('tools/list leaves out tools the caller could never be allowed to call', async () => {
    const u = await w.caller({ trustMode: 'untrusted' });
    await w.policy(u.agent.id, { name: 'Reads', service: 'github', effect: 'permit', tools: ['list_repositories', 'get_file_contents'], principal: { type: 'all_members' } });
    await w.policy(u.agent.id, {
        name: 'Office hours only',
        service: 'github',
        effect: 'forbid',
        tools: ['get_file_contents'],
        principal: { type: 'all_members' },
        timeWindow: { hoursFrom: 0, hoursTo: 5 },
    });
    const list = await w.rpc(u.key, { jsonrpc: '2.0', id: 1, method: 'tools/list' });
    expect(list.body.result.tools.map((t: { name: string }) => t.name).sort()).toEqual(['github__get_file_contents', 'github__list_repositories']);

    const t = await w.caller({ trustMode: 'trusted', services: ['github'] });
    await w.policy(t.agent.id, { name: 'Never delete repos', service: 'github', effect: 'forbid', tools: ['delete_repository'], principal: { type: 'all_members' } });
    await w.policy(t.agent.id, { name: 'All else', service: 'github', effect: 'permit', principal: { type: 'all_members' } });
    const names = (await w.rpc(t.key, { jsonrpc: '2.0', id: 2, method: 'tools/list' })).body.result.tools.map((x: { name: string }) => x.name);
    expect(names).not.toContain('github__delete_repository');
    expect(names).toContain('github__delete_file');
    expect(names.every((n: string) => n.startsWith('github__'))).toBe(true);
  });

  describe('time windows, in the agent timezone, at their edges', () => {
    let ny: CallerSetup;
    let tokyo: CallerSetup;
    afterAll(() => w.setNow(null));

    beforeAll(async () => {
      ny = await w.caller({ trustMode: 'untrusted', timezone: 'America/New_York', services: ['github'] });
      await w.policy(ny.agent.id, {
        name: 'Weekday office hours',
        service: 'github',
        effect: 'permit',
        tools: ['list_repositories'],
        principal: { type: 'all_members' },
        timeWindow: { daysOfWeek: [1, 2, 3, 4, 5], hoursFrom: 9, hoursTo: 17 },
      });
      tokyo = await w.caller({ trustMode: 'trusted', timezone: 'Asia/Tokyo', services: ['github'] });
      await w.policy(tokyo.agent.id, {
        name: 'April freeze',
        service: 'github',
        effect: 'forbid',
        principal: { type: 'all_members' },
        timeWindow: { activeFrom: '2026-04-01', activeTo: '2026-04-30' },
        denyMessage: 'Code freeze in April.',
      });
      await w.policy(tokyo.agent.id, { name: 'Everything', service: 'github', effect: 'permit', principal: { type: 'all_members' } });
    });

    const cases: [string, string, boolean][] = [
      // Monday 2 March 2026, EST (UTC-5)
      ['2026-03-02T13:59:59.999Z', 'Mon 08:59:59.999 EST', false],
      ['2026-03-02T14:00:00.000Z', 'Mon 09:00 EST', true],
      ['2026-03-02T22:59:59.999Z', 'Mon 17:59:59.999 EST', true],
      ['2026-03-02T23:00:00.000Z', 'Mon 18:00 EST', false],
      // Monday 9 March 2026, after the switch to EDT (UTC-4): the same UTC hour means another local hour
      ['2026-03-09T12:59:59.999Z', 'Mon 08:59:59.999 EDT', false],
      ['2026-03-09T13:00:00.000Z', 'Mon 09:00 EDT', true],
      // Monday 02:00 UTC is still Sunday evening in New York
      ['2026-03-02T02:00:00.000Z', 'Sun 21:00 EST', false],
      // Friday 23:30 UTC is Friday 18:30 in New York; Saturday 03:00 UTC is Friday 22:00
      ['2026-03-06T21:30:00.000Z', 'Fri 16:30 EST', true],
      ['2026-03-07T17:00:00.000Z', 'Sat 12:00 EST', false],
    ];
    it.each(cases)('%s (%s) → allowed %s', async (at, _local, allowed) => {
      w.setNow(new Date(at));
      expect((await decide(ny, 'github__list_repositories', { owner: 'acme' })).allowed).toBe(allowed);
      const e = await lastEntry(ny.agent.id);
      expect(new Date(e.timestamp).toISOString()).toBe(at);
      expect(e.decision).toBe(allowed ? 'ALLOW' : 'DENY');
    });

    const freeze: [string, boolean][] = [
      ['2026-03-31T14:59:59.999Z', true], // 31 Mar 23:59:59.999 JST
      ['2026-03-31T15:00:00.000Z', false], // 1 Apr 00:00 JST
      ['2026-04-30T14:59:59.999Z', false], // 30 Apr 23:59:59.999 JST
      ['2026-04-30T15:00:00.000Z', true], // 1 May 00:00 JST
    ];
    it.each(freeze)('active dates in Asia/Tokyo: %s → allowed %s', async (at, allowed) => {
      w.setNow(new Date(at));
      const r = await decide(tokyo, 'github__list_repositories', { owner: 'acme' });
      expect(r.allowed).toBe(allowed);
      if (!allowed) expect(r.message).toContain('Code freeze in April.');
    });
  });

  describe('changes apply to the very next call', () => {
    it('a policy toggle, a save (new version) and a toggle back', async () => {
      const c = await w.caller({ trustMode: 'trusted', services: ['github'] });
      const access = await w.ownerAccess();
      const p = await w.policy(c.agent.id, { name: 'No issues', service: 'github', effect: 'forbid', tools: ['create_issue'], principal: { type: 'all_members' } });
      const args = { owner: 'a', repo: 'b', title: 't' };
      expect((await decide(c, 'github__create_issue', args)).allowed).toBe(false);
      await w.core.policies.toggle(access, p.id);
      expect((await decide(c, 'github__create_issue', args)).allowed).toBe(true);
      await w.core.policies.toggle(access, p.id);
      expect((await decide(c, 'github__create_issue', args)).allowed).toBe(false);
      expect((await lastEntry(c.agent.id)).matched_policies).toEqual([expect.objectContaining({ id: p.id, version: 1 })]);
      await w.core.policies.save(access, p.id, { name: 'No issues', service: 'github', effect: 'forbid', tools: ['create_issue'], principal: { type: 'all_members' }, denyMessage: 'v2 says no' });
      const r = await decide(c, 'github__create_issue', args);
      expect(r.message).toContain('v2 says no');
      expect((await lastEntry(c.agent.id)).matched_policies).toEqual([expect.objectContaining({ id: p.id, version: 2 })]);
    });

    it('the emergency stop (agent disabled) blocks the next call, and re-enabling restores it', async () => {
      const c = await w.caller({ services: ['github'] });
      const access = await w.ownerAccess();
      expect((await decide(c, 'github__list_repositories', { owner: 'a' })).allowed).toBe(true);
      await w.core.agents.setStatus(access, c.agent.id, 'disabled');
      expect(await decide(c, 'github__list_repositories', { owner: 'a' })).toMatchObject({ status: 403, allowed: false });
      expect((await lastEntry(c.agent.id)).reason).toMatch(/disabled/);
      await w.core.agents.setStatus(access, c.agent.id, 'active');
      expect((await decide(c, 'github__list_repositories', { owner: 'a' })).allowed).toBe(true);
    });

    it('a rotated key stops at once (old key 401, new key works); a revoked key too; a rejected member gets 403', async () => {
      const c = await w.caller({ services: ['github'] });
      const access = await w.ownerAccess();
      expect((await decide(c, 'github__list_repositories', { owner: 'a' })).allowed).toBe(true);
      const rotated = await w.core.members.rotateKey(access, c.agent.id, c.member.id);
      expect((await decide(c, 'github__list_repositories', { owner: 'a' })).status).toBe(401);
      const fresh = { key: rotated.key };
      expect((await decide(fresh, 'github__list_repositories', { owner: 'a' })).allowed).toBe(true);
      expect((await lastEntry(c.agent.id)).member_key_id).toBe(rotated.keyId);
      await w.core.members.setStatus(access, c.agent.id, c.member.id, 'rejected');
      expect((await decide(fresh, 'github__list_repositories', { owner: 'a' })).status).toBe(403);
      await w.core.members.setStatus(access, c.agent.id, c.member.id, 'approved');
      await w.core.members.revokeKey(access, c.agent.id, c.member.id);
      expect((await decide(fresh, 'github__list_repositories', { owner: 'a' })).status).toBe(401);
    });
  });

  describe('simulate agrees with the live proxy', () => {
    it('for generated calls (member, tool, time, caller IP, arguments) the decision, reason and policies match', async () => {
      const c = await w.caller({ trustMode: 'untrusted', timezone: 'Europe/Berlin', services: ['github', 'slack'] });
      const other = await w.memberOf(c.agent.id);
      const pending = await w.memberOf(c.agent.id, { status: 'pending' });
      await w.policy(c.agent.id, { name: 'Reads', service: 'github', effect: 'permit', tools: ['list_repositories', 'get_file_contents', 'list_issues'], principal: { type: 'all_members' } });
      await w.policy(c.agent.id, {
        name: 'Writes in office hours',
        service: 'github',
        effect: 'permit',
        tools: ['create_issue', 'add_issue_comment'],
        principal: { type: 'all_members' },
        timeWindow: { daysOfWeek: [1, 2, 3, 4, 5], hoursFrom: 8, hoursTo: 18 },
      });
      await w.policy(c.agent.id, {
        name: 'Only from the office network',
        service: 'github',
        effect: 'forbid',
        tools: ['create_issue'],
        principal: { type: 'specific_members', memberIds: [other.member.id] },
        callerIps: ['10.0.0.0/8'],
      });
      await w.policy(c.agent.id, {
        name: 'Not the prod repo',
        service: 'github',
        effect: 'forbid',
        principal: { type: 'all_members' },
        conditions: [{ key: 'repo', op: 'eq', value: 'prod' }],
        denyMessage: 'prod is off limits',
      });
      await w.policy(c.agent.id, { name: 'Say hi', service: 'slack', effect: 'permit', tools: ['post_message'], principal: { type: 'specific_members', memberIds: [c.member.id] } });
      const access = await w.ownerAccess();
      const members = [
        { id: c.member.id, key: c.key },
        { id: other.member.id, key: other.key },
        { id: pending.member.id, key: pending.key },
      ];
      const tools = ['github__list_repositories', 'github__create_issue', 'github__add_issue_comment', 'github__delete_file', 'slack__post_message', 'slack__list_channels', 'linear__list_teams'];
      const weekStart = Date.parse('2026-06-01T00:00:00Z');
      const seen = new Set<string>();

      await fc.assert(
        fc.asyncProperty(
          fc.record({
            member: fc.constantFrom(...members),
            name: fc.constantFrom(...tools),
            at: fc.integer({ min: 0, max: 7 * 24 * 60 - 1 }).map((m) => new Date(weekStart + m * 60_000)),
            ip: fc.constantFrom('10.1.2.3', '192.168.0.7', '2001:db8::1'),
            repo: fc.constantFrom('api', 'prod', 'web'),
          }),
          async ({ member, name, at, ip, repo }) => {
            w.setNow(at);
            const args = { owner: 'acme', repo, title: 'x', body: 'y', issue_number: 1, channel: 'C1', text: 'hi' };
            const live = await w.callTool(member.key, name, args, { 'X-Forwarded-For': ip });
            const row = await lastEntry(c.agent.id);
            expect(new Date(row.timestamp).getTime()).toBe(at.getTime());
            const [service, tool] = name.split('__');
            const sim = await w.core.simulate.call(access, { agentId: c.agent.id, memberId: member.id, service, tool, arguments: args, time: at, callerIp: ip });
            expect(row.decision).toBe(sim.decision);
            expect(row.reason).toBe(sim.reason);
            expect(row.policy_id).toBe(sim.deciding?.id ?? null);
            expect([...row.matched_policy_ids].sort()).toEqual(sim.matched.map((m) => m.id).sort());
            expect(row.action).toBe(sim.action);
            expect(row.principal).toBe(sim.principal);
            expect(live.body.result !== undefined).toBe(sim.decision === 'ALLOW');
            seen.add(`${sim.decision}:${sim.rule}`);
          },
        ),
        // A fixed seed: the path-coverage check below counts generated cases, so it must not depend on luck.
        { numRuns: 60, seed: 20261122 },
      );
      w.setNow(null);
      // The generated calls went down every path: allowed by a permit, denied by a forbid, by no permit,
      // by the pre-checks.
      expect([...seen]).toEqual(expect.arrayContaining(['ALLOW:permit', 'DENY:forbid', 'DENY:no_permit', 'DENY:member_not_approved', 'DENY:service_not_enabled']));
    });
  });
});
