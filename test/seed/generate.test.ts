import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { createCore, createLogger, type Core } from '@wicket/core';
import { repo } from '@wicket/db';
import { installDemo } from '../../db/seeds/demo.ts';
import { generateAuditEntries } from '../../db/seeds/generate.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { TEST_SECRET } from '../support/factories.ts';

const INSTALLED = new Date('2026-11-10T09:15:00Z');
const NOW = new Date('2026-11-20T15:40:00Z');

describe('generateAuditEntries', () => {
  let testDb: TestDatabase;
  let core: Core;
  let before: number;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    core = createCore({ database: testDb.database, logger: createLogger({ level: 'silent' }), serverSecret: TEST_SECRET });
    // Installed ten days before the generated window ends: generation replays the same history.
    await installDemo(core, { now: INSTALLED, volume: 0.1 });
    before = await countEntries();
  });
  afterAll(async () => testDb?.drop());

  async function countEntries(): Promise<number> {
    const r = await core.db.selectFrom('audit_entries').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  it('inserts exactly N entries over the 30 days before now, oldest first', async () => {
    const result = await generateAuditEntries(core.db, { entries: 3000, now: NOW, batchRows: 1000 });
    expect(result.inserted).toBe(3000);
    expect(result.statements).toBeGreaterThanOrEqual(3);
    expect(await countEntries()).toBe(before + 3000);

    const rows = await core.db.selectFrom('audit_entries').select(['seq', 'timestamp']).orderBy('seq', 'desc').limit(3000).execute();
    const times = rows.map((r) => new Date(r.timestamp).getTime());
    expect(Math.max(...times)).toBeLessThanOrEqual(NOW.getTime());
    expect(Math.min(...times)).toBeGreaterThanOrEqual(NOW.getTime() - 30 * 86_400_000 - 3_600_000);
    // seq order follows time order, as in a real log
    for (let i = 1; i < times.length; i++) expect(times[i]).toBeLessThanOrEqual(times[i - 1]);
  });

  it('keeps the hour and minute rollups and the policy matches equal to the rows', async () => {
    const { rows } = await sql<{ entries: number; hours: number; minutes: number; matches: number; expected: number; policy_hours: number }>`
      select (select count(*) from audit_entries)::int as entries,
             (select sum(count) from audit_rollups where granularity = 'hour')::int as hours,
             (select sum(count) from audit_rollups where granularity = 'minute')::int as minutes,
             (select count(*) from audit_policy_matches)::int as matches,
             (select sum(cardinality(matched_policy_ids)) from audit_entries)::int as expected,
             (select sum(count) from audit_policy_rollups where granularity = 'hour')::int as policy_hours`.execute(core.db);
    expect(rows[0].hours).toBe(rows[0].entries);
    expect(rows[0].minutes).toBe(rows[0].entries);
    expect(rows[0].matches).toBe(rows[0].expected);
    expect(rows[0].policy_hours).toBe(rows[0].expected);
  });

  it('generates entries shaped like the demo: its agents, members, keys and policies, both decisions', async () => {
    const generated = await core.db.selectFrom('audit_entries').selectAll().orderBy('seq', 'desc').limit(3000).execute();
    const agents = new Map((await core.db.selectFrom('agents').select(['id', 'name']).execute()).map((a) => [a.id, a.name]));
    const members = await core.db.selectFrom('members').select(['id', 'agent_id']).execute();
    const keys = new Set((await core.db.selectFrom('member_keys').select('key_id').execute()).map((k) => k.key_id));
    const policies = new Set((await core.db.selectFrom('policies').select('id').execute()).map((p) => p.id));
    for (const e of generated) {
      expect(agents.get(e.agent_id)).toBe(e.agent_name);
      expect(members.find((m) => m.id === e.member_id)?.agent_id).toBe(e.agent_id);
      expect(keys.has(e.member_key_id!)).toBe(true);
      for (const id of e.matched_policy_ids) expect(policies.has(id)).toBe(true);
    }
    const denied = generated.filter((e) => e.decision === 'DENY').length / generated.length;
    expect(denied).toBeGreaterThan(0.05);
    expect(denied).toBeLessThan(0.4);
    expect(new Set(generated.map((e) => e.agent_name)).size).toBe(4);
  });
});

describe('the policy filter on generated traffic', () => {
  let testDb: TestDatabase;
  let core: Core;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    core = createCore({ database: testDb.database, logger: createLogger({ level: 'silent' }), serverSecret: TEST_SECRET });
    await installDemo(core, { now: INSTALLED, volume: 0.1 });
    await generateAuditEntries(core.db, { entries: 4000, now: NOW });
  });
  afterAll(async () => testDb?.drop());

  it('combined with result, member and a time range, lists what a scan of the entries finds, in order', async () => {
    const agents = (await core.db.selectFrom('agents').select('id').execute()).map((a) => a.id);
    const policies = await core.db.selectFrom('policies').select(['id', 'agent_id']).execute();
    const members = await core.db.selectFrom('members').select(['id', 'agent_id']).execute();
    const from = new Date(NOW.getTime() - 7 * 86_400_000);
    let compared = 0;
    for (const policy of policies) {
      const member = members.find((m) => m.agent_id === policy.agent_id)!;
      for (const criteria of [{}, { result: 'DENY' as const }, { result: 'ALLOW' as const }, { member: member.id }, { result: 'ALLOW' as const, member: member.id, from, until: NOW }]) {
        const listed = await repo.listAuditEntries(core.db, { scope: { ownerAgentIds: agents, memberIds: [] }, criteria: { ...criteria, policy: policy.id }, limit: 50 });
        let expected = core.db
          .selectFrom('audit_entries')
          .select('id')
          .where(sql<boolean>`${policy.id}::uuid = any(matched_policy_ids)`)
          .orderBy('timestamp', 'desc')
          .orderBy('id', 'desc')
          .limit(50);
        if ('result' in criteria && criteria.result) expected = expected.where('decision', '=', criteria.result);
        if ('member' in criteria && criteria.member) expected = expected.where('member_id', '=', criteria.member);
        if ('from' in criteria && criteria.from) expected = expected.where('timestamp', '>=', criteria.from).where('timestamp', '<', criteria.until);
        expect(listed.map((e) => e.id)).toEqual((await expected.execute()).map((e) => e.id));
        compared += listed.length;
      }
    }
    expect(compared).toBeGreaterThan(100);
  });
});
