import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import pg from 'pg';
import { AuditWriter } from '@wicket/core';
import { repo, type AuditEntryInsert, type AuditEntryRow } from '@wicket/db';
import { auditRowToWrite } from '../support/factories.ts';
import { PROBE, startProxyWorld, type CallerSetup, type ProxyWorld } from './harness.ts';

// Spec §4: the entry is committed before the upstream is called (checked BY the upstream, reading the
// database itself on a connection of its own on PostgreSQL), entries of concurrent calls share one INSERT
// (group commit), and when the entry cannot be written the call answers 503 and is not forwarded.

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('audit entries are committed before forwarding', () => {
  let w: ProxyWorld;
  let c: CallerSetup;
  let direct: CallerSetup;
  const batches: number[] = [];

  beforeAll(async () => {
    w = await startProxyWorld({ proxy: { audit: { onBatch: (b) => batches.push(b.rows), commitTimeoutMs: 3_000 } } });
    c = await w.caller({ services: ['github'] });
    // Rows written straight through an AuditWriter belong to this agent: they get no outcome, and
    // w.settled(c.agent.id) waits for every entry of its agent to have one.
    direct = await w.caller({ services: ['github'] });
  });
  afterAll(async () => w?.close());

  const args = () => ({ owner: 'acme', repo: 'api', title: 'Group commit', [PROBE]: randomUUID() });
  const probes = (service = 'github') => new Set(w.upstreams.servers[service].calls.map((x) => (x.arguments as Record<string, unknown>)?.[PROBE]));

  it('every call finds its own entry committed when it reaches the upstream; concurrent entries share INSERTs', async () => {
    const committedEvents: number[] = [];
    const announcedRows: AuditEntryRow[] = [];
    const off = w.core.events.on('audit.committed', (e) => {
      committedEvents.push(e.maxSeq);
      announcedRows.push(...(e.rows ?? []));
    });
    batches.length = 0;
    const n = 64;
    const sent = Array.from({ length: n }, args);
    const answers = await Promise.all(sent.map((a) => w.callTool(c.key, 'github__create_issue', a)));
    off();
    expect(answers.map((a) => a.status)).toEqual(Array(n).fill(200));
    expect(w.uncommittedAtUpstream).toEqual([]);
    const seen = probes();
    for (const a of sent) expect(seen.has(a[PROBE])).toBe(true);

    expect(batches.reduce((x, y) => x + y, 0)).toBe(n);
    if (w.testDb.url) {
      // PostgreSQL: reads run in parallel on the pool while inserts queue behind the running one.
      // (PGlite is one session: every query waits its turn, so writes arrive no faster than one insert.)
      expect(Math.max(...batches)).toBeGreaterThan(1);
      expect(batches.length).toBeLessThan(n);
    }

    const rows = await w.settled(c.agent.id);
    const mine = rows.filter((r) => sent.some((a) => (r.tool_args as any)[PROBE] === a[PROBE]));
    expect(mine).toHaveLength(n);
    expect(mine.every((r) => r.decision === 'ALLOW' && r.upstream_status === '200' && r.completed_at !== null)).toBe(true);
    expect(Math.max(...committedEvents)).toBe(Math.max(...mine.map((r) => Number(r.seq))));
    // Each event carries its statement's rows as stored (the live stream hands them out unread): the
    // rows as a read returns them, but for the outcome, recorded after the commit.
    const withoutOutcome = (row: AuditEntryRow) => ({ ...row, duration_ms: null, upstream_status: null, upstream_error: null, completed_at: null });
    const bySeq = (x: AuditEntryRow, y: AuditEntryRow) => Number(x.seq) - Number(y.seq);
    expect(announcedRows.filter((r) => r.completed_at !== null)).toEqual([]);
    expect(announcedRows.sort(bySeq).map(withoutOutcome)).toEqual([...mine].sort(bySeq).map(withoutOutcome));
    // Batch sizes on /metrics: every entry counted in an INSERT, every outcome in an UPDATE.
    const metrics = await (await fetch(`${w.baseUrl}/metrics`)).text();
    expect(Number(/wicket_audit_batch_rows_sum (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(n);
    expect(Number(/wicket_audit_outcome_rows_sum (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(n);
  });

  it('group commit: writes of one event-loop turn go out as one INSERT; writes during a flush wait and share the next', async () => {
    const writer = new AuditWriter(w.db, w.core.events, w.core.logger, { maxBatch: 100 });
    const sizes: number[] = [];
    const observed = new AuditWriter(w.db, w.core.events, w.core.logger, { maxBatch: 100, onBatch: (b) => sizes.push(b.rows) });
    const row = (i: number) => fullRow({ tool: `batch_${i}` });
    const first = await Promise.all(Array.from({ length: 50 }, (_, i) => observed.write(row(i))));
    expect(sizes).toEqual([50]);
    expect(new Set(first.map((e) => e.seq)).size).toBe(50);

    sizes.length = 0;
    const a = observed.write(row(100));
    await new Promise((r) => setImmediate(r)); // the flush of `a` has started
    const rest = Array.from({ length: 250 }, (_, i) => observed.write(row(200 + i)));
    await Promise.all([a, ...rest]);
    expect(sizes).toEqual([1, 100, 100, 50]);
    await writer.close();
    await observed.close();
    await expect(observed.write(row(999))).rejects.toThrow(/closed/);
  });

  /** A complete row as the proxy writes it, with `over` replacing some columns. */
  const fullRow = (over: Partial<AuditEntryInsert> = {}): AuditEntryInsert => auditRowToWrite(direct.agent, over);

  it('the batch INSERT (one array per column) stores every column of every row exactly, whatever the text', async () => {
    const writer = new AuditWriter(w.db, w.core.events, w.core.logger);
    // Texts that an array literal must quote or escape: NULL, braces, commas, quotes, backslashes, spaces, unicode.
    const awkward = ['NULL', 'null', '{a,b}', 'comma, "quoted" \\ backslash', '  padded  ', 'é ☃ 𝄞', '', '\\N'];
    const policyIds = [randomUUID(), randomUUID()];
    const rows = awkward.map((text, i) =>
      fullRow({
        timestamp: new Date(Date.UTC(2026, 10, 22, 8, 0, 0, 123 + i)),
        member_id: i % 2 ? direct.member.id : null,
        member_name: text,
        member_key_id: i % 2 ? text : null,
        session_id: i % 3 ? null : text,
        tool: `odd_${i}`,
        action: text,
        resource: text,
        caller_ip: i % 2 ? '2001:db8::1' : null,
        tool_args: JSON.stringify({ text, nested: { list: [text, 1, null, true] } }),
        decision: i % 2 ? 'DENY' : 'ALLOW',
        reason: `Denied: ${text}`,
        policy_id: i % 2 ? policyIds[0] : null,
        matched_policy_ids: i % 2 ? policyIds : i % 4 ? [policyIds[1]] : [],
        matched_policies: JSON.stringify([{ name: text }]),
        principal: text,
        duration_ms: i % 2 ? i * 7 : null,
        completed_at: i % 2 ? new Date(Date.UTC(2026, 10, 22, 8, 0, 1)) : null,
      }),
    );
    const committed = await Promise.all(rows.map((r) => writer.write(r)));
    await writer.close();
    expect(new Set(committed.map((e) => e.seq)).size).toBe(rows.length);
    const stored = await w.db.selectFrom('audit_entries').selectAll().where('id', 'in', rows.map((r) => r.id)).execute();
    const byId = new Map(stored.map((r) => [r.id, r]));
    for (const r of rows) {
      const got = byId.get(r.id)!;
      expect({ ...got, tool_args: JSON.stringify(got.tool_args), matched_policies: JSON.stringify(got.matched_policies), timestamp: new Date(got.timestamp), completed_at: got.completed_at && new Date(got.completed_at) }).toMatchObject({
        ...r,
        matched_policy_ids: r.matched_policy_ids,
      });
      expect(got.tool_args).toEqual(JSON.parse(r.tool_args));
    }
  });

  it('the outcome is filled once: a second fill is refused by the database', async () => {
    const a = args();
    await w.callTool(c.key, 'github__create_issue', a);
    const row = (await w.settled(c.agent.id)).find((r) => (r.tool_args as any)[PROBE] === a[PROBE])!;
    expect(row.completed_at).not.toBeNull();
    await expect(w.db.updateTable('audit_entries').set({ duration_ms: 1 }).where('id', '=', row.id).execute()).rejects.toThrow(/append-only/);
  });

  async function setReadOnly(on: boolean) {
    if (w.testDb.url) {
      // PostgreSQL switched to read-only (as after a fail-over to a standby): new sessions refuse writes.
      const name = new URL(w.testDb.url).pathname.slice(1);
      const admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
      await admin.connect();
      await admin.query(`alter database ${name} set default_transaction_read_only = ${on ? 'on' : 'off'}`);
      await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [name]);
      await admin.end();
      await sleep(300);
      // Pools replace the terminated connections; reads work again.
      for (let i = 0; i < 20; i++) await w.db.selectFrom('agents').select('id').execute().catch(() => {});
    } else {
      // PGlite is one session: the same setting, for that session.
      await sql.raw(`set default_transaction_read_only = ${on ? 'on' : 'off'}`).execute(w.db);
    }
  }

  it('outcomes under steady load go out as one UPDATE per outcomeDelayMs, not one per round trip; close() writes what is left', async () => {
    const updates: number[] = [];
    const writer = new AuditWriter(w.db, w.core.events, w.core.logger, { outcomeDelayMs: 80, maxOutcomeBatch: 1_000_000, onOutcomes: (b) => updates.push(b.rows) });
    const rows = Array.from({ length: 60 }, (_, i) => fullRow({ tool: `paced_${i}` }));
    await Promise.all(rows.map((r) => writer.write(r)));
    // Outcomes arriving on every event-loop turn for 500 ms (a steady call rate, so some arrive while each
    // UPDATE runs); most are for entries that do not exist (they match no row), 60 for real ones.
    const started = performance.now();
    let next = 0;
    while (performance.now() - started < 500) {
      const real = next < rows.length && performance.now() - started > next * 8;
      writer.recordOutcome(real ? rows[next++].id : randomUUID(), { durationMs: 7, upstreamStatus: '200', upstreamError: null });
      await new Promise((r) => setImmediate(r));
    }
    for (; next < rows.length; next++) writer.recordOutcome(rows[next].id, { durationMs: 7, upstreamStatus: '200', upstreamError: null });
    const elapsed = performance.now() - started;
    await writer.close();
    // Paced: about one UPDATE per 80 ms (plus the one close() sends); unpaced, an UPDATE per round trip
    // (each taking a few ms here) would have been dozens.
    expect(updates.length).toBeLessThanOrEqual(Math.ceil(elapsed / 80) + 2);
    expect(updates.length).toBeGreaterThan(1);
    const filled = await w.db.selectFrom('audit_entries').select(['duration_ms', 'completed_at']).where('id', 'in', rows.map((r) => r.id)).execute();
    expect(filled.filter((f) => f.duration_ms === 7 && f.completed_at !== null)).toHaveLength(rows.length);
  });

  it('outcomes are written beside their entries (HOT updates: same page, no new index entries), as the fillfactor migration intends', async () => {
    const writer = new AuditWriter(w.db, w.core.events, w.core.logger);
    const rows = Array.from({ length: 40 }, (_, i) => fullRow({ tool: `hot_${i}` }));
    await Promise.all(rows.map((r) => writer.write(r)));
    await writer.close();
    const pages = async () => {
      const r = await sql<{ id: string; page: string }>`select id, (ctid::text::point)[0]::text as page from audit_entries where id in (${sql.join(rows.map((x) => x.id))})`.execute(w.db);
      return new Map(r.rows.map((x) => [x.id, x.page]));
    };
    const before = await pages();
    await repo.recordAuditOutcomes(w.db, rows.map((r) => ({ id: r.id, durationMs: 5, upstreamStatus: '200', upstreamError: null })));
    const after = await pages();
    // A HOT update writes the new version on the same page (an update elsewhere needs new index entries).
    expect([...after].filter(([id, page]) => before.get(id) !== page)).toEqual([]);
    const filled = await w.db.selectFrom('audit_entries').select('duration_ms').where('id', 'in', rows.map((r) => r.id)).execute();
    expect(filled.map((f) => f.duration_ms)).toEqual(Array(rows.length).fill(5));
  });

  it('database refuses writes: 503 with Retry-After, -32603, nothing forwarded, nothing recorded; then recovers', async () => {
    const before = (await w.entries(c.agent.id)).length;
    await setReadOnly(true);
    try {
      const a = args();
      const r = await w.callTool(c.key, 'github__create_issue', a);
      expect(r.status).toBe(503);
      expect(r.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(r.body.error.code).toBe(-32603);
      expect(r.body.error.message).toMatch(/not forwarded/);
      expect(probes().has(a[PROBE])).toBe(false);
      // A denial cannot be acknowledged without its entry either.
      const other = await w.caller({ services: ['github'] }).catch(() => null);
      expect(other).toBeNull();
    } finally {
      await setReadOnly(false);
    }
    expect((await w.entries(c.agent.id)).length).toBe(before);
    const a = args();
    expect((await w.callTool(c.key, 'github__create_issue', a)).status).toBe(200);
    expect(probes().has(a[PROBE])).toBe(true);
  });

  it('a DENY that cannot be recorded is a 503 too', async () => {
    const d = await w.caller({ services: [] });
    await setReadOnly(true);
    try {
      const r = await w.callTool(d.key, 'github__list_repositories', { owner: 'a' });
      expect(r.status).toBe(503);
      expect(r.body.error.code).toBe(-32603);
    } finally {
      await setReadOnly(false);
    }
    expect(await w.entries(d.agent.id)).toHaveLength(0);
  });

  it.runIf(!!process.env.TEST_DATABASE_URL && process.env.WICKET_TEST_DB !== 'pglite')(
    'PostgreSQL: an insert stuck behind a lock past the commit timeout → 503, not forwarded; the late row says so',
    async () => {
      const locker = new pg.Client({ connectionString: w.testDb.url });
      await locker.connect();
      const a = args();
      try {
        await locker.query('begin');
        await locker.query('lock table audit_entries in access exclusive mode');
        const r = await w.callTool(c.key, 'github__create_issue', a);
        expect(r.status).toBe(503);
        expect(r.headers.get('retry-after')).toBeTruthy();
        expect(probes().has(a[PROBE])).toBe(false);
      } finally {
        await locker.query('rollback');
        await locker.end();
      }
      // The INSERT went through once the lock was gone; its caller had already been told 503.
      let row;
      for (let i = 0; i < 100 && !row?.completed_at; i++) {
        await sleep(20);
        row = (await w.entries(c.agent.id)).find((e) => (e.tool_args as any)[PROBE] === a[PROBE]);
      }
      expect(row).toMatchObject({ decision: 'ALLOW', upstream_status: null });
      expect(row!.upstream_error).toMatch(/not forwarded/);
      expect(probes().has(a[PROBE])).toBe(false);
    },
  );

  // Last: the database handle is closed for good.
  it('database gone (connection pool closed): 503 for every call, nothing forwarded', async () => {
    await w.testDb.database.close();
    const a = args();
    const r = await w.callTool(c.key, 'github__create_issue', a);
    expect(r.status).toBe(503);
    expect(r.headers.get('retry-after')).toBeTruthy();
    expect(r.body.error.code).toBe(-32603);
    expect(probes().has(a[PROBE])).toBe(false);
  });
});
