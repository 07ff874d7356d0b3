import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { factories } from '../support/factories.ts';

describe('audit entries are append-only in the database itself', () => {
  let tdb: TestDatabase;
  let id: string;
  beforeAll(async () => {
    tdb = await createTestDatabase();
    const f = factories(tdb.database);
    const agent = await f.agent({ name: 'a' });
    [{ id }] = await f.auditEntries([{ agent_id: agent.id, agent_name: 'a', decision: 'DENY', reason: 'original' }]);
  });
  afterAll(async () => tdb?.drop());
  const db = () => tdb.database.db;

  it('refuses to change a decision, reason or any recorded field', async () => {
    await expect(sql`update audit_entries set decision = 'ALLOW' where id = ${id}`.execute(db())).rejects.toThrow(/append-only/);
    await expect(sql`update audit_entries set reason = 'rewritten' where id = ${id}`.execute(db())).rejects.toThrow(/append-only/);
    const row = await db().selectFrom('audit_entries').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ decision: 'DENY', reason: 'original' });
  });

  it('refuses DELETE and TRUNCATE', async () => {
    await expect(sql`delete from audit_entries where id = ${id}`.execute(db())).rejects.toThrow(/append-only/);
    await expect(sql`truncate audit_entries`.execute(db())).rejects.toThrow(/append-only/);
    const n = await db().selectFrom('audit_entries').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(Number(n.n)).toBe(1);
  });

  it('accepts the outcome once, then refuses a second outcome', async () => {
    await sql`update audit_entries set duration_ms = 12, upstream_status = 'ok' where id = ${id}`.execute(db());
    await expect(sql`update audit_entries set duration_ms = 99 where id = ${id}`.execute(db())).rejects.toThrow(/outcome already recorded/);
    const row = await db().selectFrom('audit_entries').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    expect(row.duration_ms).toBe(12);
    expect(row.completed_at).not.toBeNull();
  });

  it('removes old ranges only through the retention function', async () => {
    const f = factories(tdb.database);
    const agent = await f.agent({ name: 'old' });
    await f.auditEntries([{ agent_id: agent.id, agent_name: 'old', timestamp: new Date('2020-01-01T00:00:00Z') }]);
    const removed = await sql<{ n: number }>`select wicket_purge_audit_before(${new Date('2021-01-01T00:00:00Z')}) as n`.execute(db());
    expect(Number(removed.rows[0].n)).toBe(1);
    const left = await db().selectFrom('audit_entries').select('id').execute();
    expect(left.map((r) => r.id)).toEqual([id]);
    // And the purge flag does not leak out of its transaction.
    await expect(sql`delete from audit_entries where id = ${id}`.execute(db())).rejects.toThrow(/append-only/);
  });
});

describe('retention', () => {
  it('purges whole old hours, keeps the rest, and records the purge as admin activity', async () => {
    const tdb = await createTestDatabase();
    try {
      const { RetentionService } = await import('@wicket/core');
      const f = factories(tdb.database);
      const agent = await f.agent({ name: 'r' });
      const now = new Date('2026-11-20T10:30:00Z');
      await f.auditEntries([
        { agent_id: agent.id, agent_name: 'r', timestamp: new Date('2026-11-09T09:59:59Z') },
        { agent_id: agent.id, agent_name: 'r', timestamp: new Date('2026-11-10T10:00:00Z') },
        { agent_id: agent.id, agent_name: 'r', timestamp: new Date('2026-11-20T10:00:00Z') },
      ]);
      const r = await new RetentionService(tdb.database.db).purgeOlderThan(10, now);
      expect(r).toEqual({ cutoff: new Date('2026-11-10T10:00:00Z'), removed: 1 });
      const left = await tdb.database.db.selectFrom('audit_entries').select('timestamp').orderBy('timestamp').execute();
      expect(left.map((x) => x.timestamp.toISOString())).toEqual(['2026-11-10T10:00:00.000Z', '2026-11-20T10:00:00.000Z']);
      const rollupTotal = await tdb.database.db.selectFrom('audit_rollups').select((eb) => eb.fn.sum<number>('count').as('n')).where('granularity', '=', 'hour').executeTakeFirstOrThrow();
      expect(Number(rollupTotal.n)).toBe(2);
      const activity = await tdb.database.db.selectFrom('admin_activity').selectAll().execute();
      expect(activity).toHaveLength(1);
      expect(activity[0]).toMatchObject({ action: 'audit.retention.purge', after: { removed: 1, retentionDays: 10 } });
    } finally {
      await tdb.drop();
    }
  });
});
