import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { createCore, createLogger, type Core } from '@wicket/core';
import { demoCatalogs } from '@wicket/upstream-demo';
import { installDemo, type DemoInstallResult } from '../../db/seeds/demo.ts';
import { plantedSecrets } from '../../db/seeds/demo-model.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { TEST_SECRET } from '../support/factories.ts';

const NOW = new Date('2026-11-20T15:40:00Z');
const DAY = 86_400_000;

describe('installDemo', () => {
  let testDb: TestDatabase;
  let core: Core;
  let result: DemoInstallResult;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    core = createCore({ database: testDb.database, logger: createLogger({ level: 'silent' }), serverSecret: TEST_SECRET });
    result = await installDemo(core, { now: NOW, volume: 0.3 });
  });
  afterAll(async () => testDb?.drop());

  it('creates agents of every kind: trusted, untrusted, disabled, with timezones and tags', async () => {
    expect(result.installed).toBe(true);
    const agents = await core.db.selectFrom('agents').selectAll().execute();
    expect(agents.length).toBeGreaterThanOrEqual(3);
    expect(agents.some((a) => a.status === 'disabled')).toBe(true);
    expect(agents.some((a) => a.trust_mode === 'untrusted')).toBe(true);
    expect(agents.some((a) => a.trust_mode === 'trusted' && a.status === 'active')).toBe(true);
    expect(agents.every((a) => a.tags.length > 0)).toBe(true);
    expect(new Set(agents.map((a) => a.timezone)).size).toBeGreaterThan(1);
    const services = await core.db.selectFrom('agent_services').select(['agent_id', 'service']).execute();
    for (const a of agents) expect(services.some((s) => s.agent_id === a.id)).toBe(true);
  });

  it('creates members with a pending and a rejected one, owners on every agent, and keys stored only as digests', async () => {
    const members = await core.db.selectFrom('members').selectAll().execute();
    expect(members.some((m) => m.status === 'pending')).toBe(true);
    expect(members.some((m) => m.status === 'rejected')).toBe(true);
    const agents = await core.db.selectFrom('agents').select('id').execute();
    for (const a of agents) expect(members.some((m) => m.agent_id === a.id && m.role === 'owner' && m.status === 'approved')).toBe(true);
    const owner = await core.db.selectFrom('accounts').select(['id', 'email']).where('id', '=', result.ownerAccountId!).executeTakeFirstOrThrow();
    expect(owner.email).toBe('admin@wicket.local');

    const keys = await core.db.selectFrom('member_keys').selectAll().execute();
    expect(keys.length).toBeGreaterThanOrEqual(members.filter((m) => m.status === 'approved').length);
    expect(keys.some((k) => k.revoked_at !== null)).toBe(true); // a rotation happened
    for (const k of keys) {
      expect(k.key_digest).not.toMatch(/^wk_/);
      expect(k.key_digest.length).toBeGreaterThanOrEqual(40);
    }
    const pending = members.find((m) => m.status === 'pending')!;
    expect(keys.some((k) => k.member_id === pending.id)).toBe(false);
  });

  it('installs the three demo connectors with their catalogs and a sealed credential', async () => {
    const connectors = await core.db.selectFrom('connectors').selectAll().orderBy('service').execute();
    expect(connectors.map((c) => c.service)).toEqual(['github', 'linear', 'slack']);
    const tools = await core.db.selectFrom('connector_tools').selectAll().execute();
    for (const catalog of demoCatalogs) {
      const stored = tools.filter((t) => t.service === catalog.service);
      expect(stored).toHaveLength(catalog.tools.length);
      for (const t of catalog.tools) {
        const row = stored.find((s) => s.name === t.name)!;
        expect(row.tier).toBe(t.tier);
        expect(row.sensitive_keys).toEqual(t.sensitiveKeys);
      }
      const c = connectors.find((x) => x.service === catalog.service)!;
      expect(c.cedar_namespace).toBe(catalog.cedarNamespace);
      expect(c.credentials_encrypted).toMatch(/^v1\./);
      expect(c.credentials_encrypted).not.toContain('credential');
      const upstream = await core.connectors.resolveUpstream(catalog.service);
      expect(upstream?.credentials).toContain(catalog.service);
    }
    expect(tools.some((t) => t.tier === 'destructive')).toBe(true);
    expect(tools.some((t) => t.sensitive_keys.length > 0)).toBe(true);
  });

  it('creates policies with several versions, Cedar naming their id and namespace, and a disabled one', async () => {
    const policies = await core.db.selectFrom('policies').selectAll().execute();
    const versions = await core.db.selectFrom('policy_versions').selectAll().orderBy('version').execute();
    expect(policies.length).toBeGreaterThanOrEqual(4);
    expect(policies.some((p) => !p.enabled)).toBe(true);
    expect(policies.some((p) => p.effect === 'forbid')).toBe(true);
    expect(policies.filter((p) => p.current_version >= 2).length).toBeGreaterThanOrEqual(3);
    for (const p of policies) {
      const own = versions.filter((v) => v.policy_id === p.id);
      expect(own.map((v) => v.version)).toEqual(Array.from({ length: p.current_version }, (_, i) => i + 1));
      for (const v of own) {
        expect(v.cedar).toContain(`@id("${p.id}")`);
        expect(v.cedar).toMatch(/(GitHubMCP|SlackMCP|LinearMCP)::Service::/);
      }
      // versions are dated in the order they were saved
      for (let i = 1; i < own.length; i++) expect(new Date(own[i].created_at).getTime()).toBeGreaterThan(new Date(own[i - 1].created_at).getTime());
    }
    const denyMessages = versions.map((v) => (v.content as { denyMessage?: string }).denyMessage).filter(Boolean);
    expect(denyMessages.length).toBeGreaterThan(0);
  });

  it('writes 30 days of audit entries with both decisions, engine reasons and matched policy versions', async () => {
    const entries = await core.db.selectFrom('audit_entries').selectAll().execute();
    expect(entries.length).toBe(result.counts.auditEntries);
    expect(entries.length).toBeGreaterThan(800);
    const times = entries.map((e) => new Date(e.timestamp).getTime());
    expect(Math.max(...times)).toBeLessThanOrEqual(NOW.getTime());
    expect(Math.min(...times)).toBeGreaterThanOrEqual(NOW.getTime() - 30 * DAY - 3_600_000);
    expect(Math.max(...times) - Math.min(...times)).toBeGreaterThan(27 * DAY);

    const denied = entries.filter((e) => e.decision === 'DENY').length / entries.length;
    expect(denied).toBeGreaterThan(0.1);
    expect(denied).toBeLessThan(0.3);
    const reasons = new Set(entries.map((e) => e.reason.replace(/".*$/, '')));
    expect([...reasons].some((r) => r.startsWith('Allowed by policy'))).toBe(true);
    expect([...reasons].some((r) => r.startsWith('Allowed by default'))).toBe(true);
    expect([...reasons].some((r) => r.startsWith('Denied: policies exist'))).toBe(true);

    const versions = await core.db.selectFrom('policy_versions').select(['policy_id', 'version']).execute();
    const known = new Set(versions.map((v) => `${v.policy_id}:${v.version}`));
    let withMatches = 0;
    for (const e of entries) {
      const matched = (typeof e.matched_policies === 'string' ? JSON.parse(e.matched_policies) : e.matched_policies) as { id: string; version: number; effect: string }[];
      expect(matched.map((m) => m.id)).toEqual(e.matched_policy_ids);
      for (const m of matched) expect(known.has(`${m.id}:${m.version}`)).toBe(true);
      if (e.policy_id) expect(e.matched_policy_ids).toContain(e.policy_id);
      if (matched.length) withMatches++;
      expect(e.action).toBe(`${e.action.split('::')[0]}::Action::"${e.tool}"`);
      expect(e.principal).toContain(e.member_id!);
      expect(e.caller_ip).toBeTruthy();
      expect(e.session_id).toBeTruthy();
      expect(e.duration_ms).toBeGreaterThan(0);
    }
    expect(withMatches / entries.length).toBeGreaterThan(0.5);
    // an older version was in force for part of the month
    expect(entries.some((e) => JSON.stringify(e.matched_policies).includes('"version": 1') || JSON.stringify(e.matched_policies).includes('"version":1'))).toBe(true);
    // the disabled agent's recent attempts are refused
    expect(entries.some((e) => e.agent_name === 'release-captain' && e.reason.includes('is disabled'))).toBe(true);
  });

  it('stores no planted secret in any tool arguments', async () => {
    expect(plantedSecrets.length).toBeGreaterThan(0);
    const rows = await core.db.selectFrom('audit_entries').select('tool_args').execute();
    const stored = rows.map((r) => JSON.stringify(r.tool_args)).join('\n');
    for (const secret of plantedSecrets) expect(stored.includes(secret)).toBe(false);
    expect(stored).toContain('[REDACTED]');
  });

  it('keeps rollups and policy matches consistent with the entries', async () => {
    const { rows } = await sql<{ entries: number; rollup: number; matches: number; expected_matches: number }>`
      select (select count(*) from audit_entries)::int as entries,
             (select coalesce(sum(count), 0) from audit_rollups where granularity = 'hour')::int as rollup,
             (select count(*) from audit_policy_matches)::int as matches,
             (select coalesce(sum(cardinality(matched_policy_ids)), 0) from audit_entries)::int as expected_matches`.execute(core.db);
    expect(rows[0].rollup).toBe(rows[0].entries);
    expect(rows[0].matches).toBe(rows[0].expected_matches);
  });

  it('records admin activity for the history', async () => {
    const activity = await core.db.selectFrom('admin_activity').select(['action', 'created_at']).execute();
    const actions = new Set(activity.map((a) => a.action));
    for (const a of ['policy.created', 'policy.saved', 'policy.enabled.set', 'agent.status.set', 'member.status.set', 'member.key.rotated']) expect(actions).toContain(a);
    expect(activity.every((a) => new Date(a.created_at).getTime() <= NOW.getTime())).toBe(true);
  });

  it('leaves a database that already has agents alone', async () => {
    const before = await core.db.selectFrom('audit_entries').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const again = await installDemo(core, { now: NOW });
    expect(again.installed).toBe(false);
    expect(again.ownerAccountId).toBe(result.ownerAccountId);
    const after = await core.db.selectFrom('audit_entries').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(Number(after.n)).toBe(Number(before.n));
  });
});
