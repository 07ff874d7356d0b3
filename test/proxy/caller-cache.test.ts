import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CompiledQuery, sql } from 'kysely';
import { AuditWriter, StaleCallerError } from '@wicket/core';
import { repo, type AuditEntryInsert } from '@wicket/db';
import { preparedText } from '../../packages/db/src/prepared.ts';
import { testBackend } from '../support/backend.ts';
import { PROBE, startProxyWorld, type CallerSetup, type ProxyWorld } from './harness.ts';

// The caller cache (docs/proxy.md, "The caller cache"): a tools/call of a known tool is decided on a
// caller and route kept in memory, with no database read before the decision; the audit INSERT re-reads
// them in the same statement and writes the entry only if nothing changed (the guard). A change made
// anywhere (here: raw SQL, as psql or another instance would) is seen by the very next call, whose stale
// attempt leaves no entry and reaches no upstream.

describe('the caller cache and the guarded audit INSERT', () => {
  let w: ProxyWorld;
  beforeAll(async () => {
    w = await startProxyWorld();
  });
  afterAll(async () => w?.close());

  const stats = () => ({ ...w.app.proxy.service.callerStats });
  const upstreamCalls = () => w.upstreams.servers.github.calls.length;
  const args = () => ({ owner: 'acme', repo: 'api', title: 'Cache', [PROBE]: randomUUID() });

  /** Calls once to fill the cache, checks the second call was a cache hit, then applies `change` and calls again. */
  async function afterChange(c: CallerSetup, change: () => Promise<unknown>) {
    expect((await w.callTool(c.key, 'github__create_issue', args())).status).toBe(200);
    const before = stats();
    expect((await w.callTool(c.key, 'github__create_issue', args())).status).toBe(200);
    const hit = stats();
    expect(hit.cacheHits).toBe(before.cacheHits + 1);
    expect(hit.reads).toBe(before.reads);
    await change();
    const entriesBefore = (await w.entries(c.agent.id)).length;
    const calls = upstreamCalls();
    const a = args();
    const answer = await w.callTool(c.key, 'github__create_issue', a);
    const after = stats();
    const entries = await w.entries(c.agent.id);
    return {
      answer,
      staleRetries: after.staleRetries - hit.staleRetries,
      reads: after.reads - hit.reads,
      newEntries: entries.slice(entriesBefore),
      forwarded: upstreamCalls() - calls,
      probe: a[PROBE],
    };
  }

  it('a repeated call reads nothing before its decision, and unrelated changes keep the cache valid', async () => {
    const c = await w.caller({ services: ['github'] });
    const other = await w.caller({ services: ['github'] });
    const r = await afterChange(c, async () => {
      // Another agent's policy and another member's status: not part of this caller's fingerprint.
      await w.policy(other.agent.id, { name: 'other', service: 'github', effect: 'forbid', tools: ['create_issue'] });
      await sql`update members set status = 'rejected' where id = ${other.member.id}`.execute(w.db);
    });
    expect(r.answer.status).toBe(200);
    expect(r.staleRetries).toBe(0);
    expect(r.reads).toBe(0);
    expect(r.newEntries.map((e) => e.decision)).toEqual(['ALLOW']);
    expect(r.forwarded).toBe(1);
    expect(w.uncommittedAtUpstream).toEqual([]);
  });

  it('the emergency stop set by raw SQL blocks the next call: 403, one DENY entry, nothing forwarded', async () => {
    const c = await w.caller({ services: ['github'] });
    const r = await afterChange(c, () => sql`update agents set status = 'disabled' where id = ${c.agent.id}`.execute(w.db));
    expect(r.answer.status).toBe(403);
    expect(r.staleRetries).toBe(1);
    expect(r.reads).toBe(1);
    // The stale ALLOW was never written: the only new entry is the refusal.
    expect(r.newEntries.map((e) => [e.decision, (e.tool_args as Record<string, unknown>)[PROBE]])).toEqual([['DENY', r.probe]]);
    expect(r.forwarded).toBe(0);
  });

  it('a member no longer approved, a policy added, the service removed: each seen by the next call', async () => {
    const member = await w.caller({ services: ['github'] });
    const m = await afterChange(member, () => sql`update members set status = 'pending' where id = ${member.member.id}`.execute(w.db));
    expect([m.answer.status, m.staleRetries, m.forwarded]).toEqual([403, 1, 0]);
    expect(m.newEntries.map((e) => e.decision)).toEqual(['DENY']);

    const policy = await w.caller({ services: ['github'] });
    let forbid = '';
    const p = await afterChange(policy, async () => {
      forbid = (await w.policy(policy.agent.id, { name: 'no issues', service: 'github', effect: 'forbid', tools: ['create_issue'], denyMessage: 'No issues today' })).id;
    });
    expect([p.answer.status, p.staleRetries, p.forwarded]).toEqual([200, 1, 0]);
    expect(p.answer.body.error.message).toMatch(/No issues today/);
    expect(p.newEntries.map((e) => [e.decision, e.policy_id])).toEqual([['DENY', forbid]]);

    const service = await w.caller({ services: ['github', 'slack'] });
    const s = await afterChange(service, () => sql`delete from agent_services where agent_id = ${service.agent.id} and service = 'github'`.execute(w.db));
    expect([s.answer.status, s.staleRetries, s.forwarded]).toEqual([200, 1, 0]);
    expect(s.answer.body.error.data.reason).toMatch(/not enabled/i);
    expect(s.newEntries.map((e) => e.decision)).toEqual(['DENY']);
  });

  it('a key revoked by raw SQL: 401 and no entry; a connector moved: the next call goes to the new URL', async () => {
    const revoked = await w.caller({ services: ['github'] });
    const k = await afterChange(revoked, () => sql`update member_keys set revoked_at = now() where key_id = ${revoked.keyId}`.execute(w.db));
    expect([k.answer.status, k.staleRetries, k.forwarded]).toEqual([401, 1, 0]);
    expect(k.newEntries).toEqual([]);

    const moved = await w.caller({ services: ['github'] });
    const original = w.upstreams.servers.github.url;
    try {
      const r = await afterChange(moved, () => sql`update connectors set upstream_url = ${'http://127.0.0.1:9/mcp'} where service = 'github'`.execute(w.db));
      expect([r.answer.status, r.staleRetries, r.forwarded]).toEqual([502, 1, 0]);
      expect(r.newEntries.map((e) => e.decision)).toEqual(['ALLOW']);
    } finally {
      await sql`update connectors set upstream_url = ${original} where service = 'github'`.execute(w.db);
    }
  });

  it('trust mode, timezone and connector credentials changed by raw SQL apply to the next call', async () => {
    // Trusted, no policy on github: allowed by default; untrusted: fail closed.
    const trust = await w.caller({ services: ['github'], trustMode: 'trusted' });
    const t = await afterChange(trust, () => sql`update agents set trust_mode = 'untrusted' where id = ${trust.agent.id}`.execute(w.db));
    expect([t.answer.status, t.staleRetries, t.forwarded]).toEqual([200, 1, 0]);
    expect(t.newEntries.map((e) => [e.decision, e.reason])).toEqual([['DENY', expect.stringMatching(/fail closed/)]]);

    // Office hours in the agent's timezone: Monday 12:00 UTC is inside in UTC, 21:00 in Tokyo is not.
    const zone = await w.caller({ services: ['github'], timezone: 'UTC' });
    await w.policy(zone.agent.id, { name: 'office hours', service: 'github', effect: 'permit', tools: ['create_issue'], timeWindow: { daysOfWeek: [1, 2, 3, 4, 5], hoursFrom: 9, hoursTo: 17 } });
    w.setNow(new Date('2026-05-04T12:00:00Z'));
    try {
      const z = await afterChange(zone, () => sql`update agents set timezone = 'Asia/Tokyo' where id = ${zone.agent.id}`.execute(w.db));
      expect([z.answer.status, z.staleRetries, z.forwarded]).toEqual([200, 1, 0]);
      expect(z.newEntries.map((e) => [e.decision, e.reason])).toEqual([['DENY', expect.stringMatching(/none permits/)]]);
    } finally {
      w.setNow(null);
    }

    // New credentials (sealed with the server secret): the next call carries them, and this upstream refuses them.
    const creds = await w.caller({ services: ['github'] });
    const [{ sealed }] = (await sql<{ sealed: string }>`select credentials_encrypted as sealed from connectors where service = 'github'`.execute(w.db)).rows;
    try {
      const r = await afterChange(creds, () => sql`update connectors set credentials_encrypted = ${w.core.secrets.encrypt('ghu_someoneelse')} where service = 'github'`.execute(w.db));
      expect([r.answer.status, r.staleRetries]).toEqual([502, 1]);
      expect(r.newEntries.map((e) => [e.decision, e.upstream_status ?? '401'])).toEqual([['ALLOW', '401']]);
      expect(w.upstreams.servers.github.requests.at(-1)).toMatchObject({ authorized: false });
    } finally {
      await sql`update connectors set credentials_encrypted = ${sealed} where service = 'github'`.execute(w.db);
    }
  });

  it('a key revoked while its caller is cached: 401, even when the call would be rate limited', async () => {
    const limited = await startProxyWorld({ proxy: { rateLimit: { burst: 2, refillPerSecond: 0.001 } } });
    try {
      const c = await limited.caller({ services: ['github'] });
      for (let i = 0; i < 2; i++) expect((await limited.callTool(c.key, 'github__list_repositories', { owner: 'acme' })).status).toBe(200);
      expect((await limited.callTool(c.key, 'github__list_repositories', { owner: 'acme' })).status).toBe(429);
      await sql`update member_keys set revoked_at = now() where key_id = ${c.keyId}`.execute(limited.db);
      const r = await limited.callTool(c.key, 'github__list_repositories', { owner: 'acme' });
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toMatch(/Bearer/);
    } finally {
      await limited.close();
    }
  });

  it('in one INSERT, a row whose guard fails is left out while the others are written', async () => {
    const c = await w.caller({ services: ['github'] });
    const digest = w.core.secrets.digest(c.key);
    const found = await repo.findCaller(w.db, digest, { service: 'github', tool: 'create_issue' });
    expect(found?.fingerprint).toMatch(/^[0-9a-f]{32}$/);
    const guard = { digest, service: 'github', tool: 'create_issue', fingerprint: found!.fingerprint };
    const row = (over: Partial<AuditEntryInsert>): AuditEntryInsert => ({
      id: randomUUID(),
      timestamp: new Date(),
      agent_id: c.agent.id,
      agent_name: c.agent.name,
      member_id: c.member.id,
      member_name: 'm',
      member_key_id: c.keyId,
      session_id: null,
      service: 'github',
      tool: 'create_issue',
      action: '',
      resource: '',
      caller_ip: null,
      tool_args: '{}',
      decision: 'DENY',
      reason: 'guard test',
      policy_id: null,
      matched_policy_ids: [],
      matched_policies: '[]',
      principal: '',
      duration_ms: 0,
      completed_at: new Date(),
      ...over,
    });
    const batches: number[] = [];
    const writer = new AuditWriter(w.db, w.core.events, w.core.logger, { onBatch: (b) => batches.push(b.rows) });
    const current = row({ guard });
    const stale = row({ guard: { ...guard, fingerprint: '0'.repeat(32) } });
    const otherTool = row({ guard: { ...guard, tool: 'list_repositories' } }); // same fingerprint, another lookup
    const unguarded = row({});
    const results = await Promise.allSettled([current, stale, otherTool, unguarded].map((r) => writer.write(r)));
    await writer.close();
    expect(batches).toEqual([2]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(StaleCallerError);
    const stored = await w.db.selectFrom('audit_entries').select('id').where('id', 'in', [current.id, stale.id, otherTool.id, unguarded.id]).execute();
    expect(stored.map((s) => s.id).sort()).toEqual([current.id, unguarded.id].sort());

    // The fingerprint covers the key: revoked, even the right fingerprint no longer writes.
    await sql`update member_keys set revoked_at = now() where key_id = ${c.keyId}`.execute(w.db);
    const late = new AuditWriter(w.db, w.core.events, w.core.logger);
    await expect(late.write(row({ guard }))).rejects.toBeInstanceOf(StaleCallerError);
    await late.close();
  });

  it('holds at most callerCache entries, and callerCache: false reads the caller for every call', async () => {
    const small = await startProxyWorld({ proxy: { callerCache: 2 } });
    const none = await startProxyWorld({ proxy: { callerCache: false } });
    try {
      const c = await small.caller({ services: ['github'] });
      for (const tool of ['list_repositories', 'list_issues', 'create_issue']) {
        expect((await small.callTool(c.key, `github__${tool}`, { owner: 'acme', repo: 'api', title: 't' })).status).toBe(200);
      }
      expect(small.app.proxy.service.cachedCallers).toBe(2);

      const d = await none.caller({ services: ['github'] });
      for (let i = 0; i < 3; i++) expect((await none.callTool(d.key, 'github__list_repositories', { owner: 'acme' })).status).toBe(200);
      expect(none.app.proxy.service.callerStats).toMatchObject({ reads: 3, cacheHits: 0 });
      expect(none.app.proxy.service.cachedCallers).toBe(0);
    } finally {
      await small.close();
      await none.close();
    }
  });

  it('an older policy revision (a caller cached before a change) is served the newer set, not reloaded under the old number', async () => {
    const c = await w.caller({ services: ['github'] });
    await w.policy(c.agent.id, { name: 'one', service: 'github', effect: 'permit', tools: ['create_issue'] });
    await w.policy(c.agent.id, { name: 'two', service: 'github', effect: 'permit', tools: ['list_issues'] });
    const current = await w.core.decisions.loadAgentPolicies(c.agent.id);
    expect(Number(current.revision)).toBeGreaterThan(1);
    const older = await w.core.decisions.loadAgentPolicies(c.agent.id, String(Number(current.revision) - 1));
    expect(older).toBe(current);
    expect(await w.core.decisions.loadAgentPolicies(c.agent.id)).toBe(current);
  });

  it('counts cache hits, reads and stale retries on /metrics', async () => {
    const c = await w.caller({ services: ['github'] });
    await afterChange(c, () => sql`update agents set status = 'disabled' where id = ${c.agent.id}`.execute(w.db));
    const text = await (await fetch(`${w.baseUrl}/metrics`)).text();
    const value = (source: string) => Number(new RegExp(`wicket_proxy_caller_lookups_total\\{source="${source}"\\} (\\d+)`).exec(text)?.[1]);
    const s = stats();
    expect(value('cache')).toBe(s.cacheHits);
    expect(value('database')).toBe(s.reads);
    expect(value('stale')).toBe(s.staleRetries);
    expect(s.cacheHits).toBeGreaterThan(0);
    expect(s.staleRetries).toBeGreaterThan(0);
  });
});

describe('hot statements on PostgreSQL', () => {
  let w: ProxyWorld;
  beforeAll(async () => {
    w = await startProxyWorld();
  });
  afterAll(async () => w?.close());

  // A declared (named) statement runs on a connection that always uses its generic plan (PostgreSQL
  // otherwise re-plans the array-parameter INSERT on every execution); inside a transaction it stays on
  // the transaction's connection; every other query keeps the default plan choice.
  it.skipIf(testBackend() === 'pglite')('declared statements use generic plans, outside transactions only; other queries keep the default', async () => {
    const MODE = preparedText('wicket_test_plan_mode', "select current_setting('plan_cache_mode') as mode");
    const named = async (db: typeof w.db) => (await db.executeQuery<{ mode: string }>(CompiledQuery.raw(MODE))).rows[0].mode;
    expect(await named(w.db)).toBe('force_generic_plan');
    // (Another text: the same text as a declared one would be sent as that named statement.)
    expect((await sql<{ mode: string }>`select current_setting('plan_cache_mode') as mode, 'unnamed' as kind`.execute(w.db)).rows[0].mode).toBe('auto');
    await w.db.transaction().execute(async (trx) => {
      // On the transaction's own connection: it sees the transaction's uncommitted temporary table.
      await sql`create temporary table plan_probe (x int) on commit drop`.execute(trx);
      expect(await named(trx)).toBe('auto');
      await sql`savepoint s1`.execute(trx);
      await sql`rollback to savepoint s1`.execute(trx);
      expect(await named(trx)).toBe('auto');
      const probe = preparedText('wicket_test_plan_probe', 'select count(*)::int as n from plan_probe');
      expect((await trx.executeQuery<{ n: number }>(CompiledQuery.raw(probe))).rows[0].n).toBe(0);
    });
    // After the transaction, back on the generic-plan connections.
    expect(await named(w.db)).toBe('force_generic_plan');
  });
});
