import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { AuditWriter, ThreadAuditWriter } from '@wicket/core';
import { auditRowToWrite } from '../support/factories.ts';
import { PROBE, startProxyWorld, type CallerSetup, type ProxyWorld } from './harness.ts';

// On PostgreSQL the proxy's audit writer runs on a thread of its own (ThreadAuditWriter, docs/proxy.md):
// the commit every call waits for is not held up by whatever else the server's event loop runs. The
// commit-before-forward guarantees are the same (test/proxy/audit-commit.test.ts runs against it on
// PostgreSQL); these tests cover what the thread adds: it works while the server's thread is busy, a
// thread that stops is replaced without losing or inventing an entry, and PGlite stays on one thread.

const onPostgres = !!process.env.TEST_DATABASE_URL && process.env.WICKET_TEST_DB !== 'pglite';

/** Keeps this thread busy, synchronously, for `ms`. */
function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

describe('the audit writer thread', () => {
  let w: ProxyWorld;
  let c: CallerSetup;
  beforeAll(async () => {
    w = await startProxyWorld();
    c = await w.caller({ services: ['github'] });
  });
  afterAll(async () => w?.close());

  const args = () => ({ owner: 'acme', repo: 'api', title: 'thread', [PROBE]: randomUUID() });
  const probes = () => new Set(w.upstreams.servers.github.calls.map((x) => (x.arguments as Record<string, unknown>)?.[PROBE]));

  it.runIf(!onPostgres)('PGlite: entries are written on the server thread (PGlite lives there)', () => {
    expect(w.app.proxy.service.writer).toBeInstanceOf(AuditWriter);
  });

  it.runIf(onPostgres)('PostgreSQL: the proxy writes through a thread of its own, started with the server', async () => {
    const writer = w.app.proxy.service.writer;
    expect(writer).toBeInstanceOf(ThreadAuditWriter);
    const stats = (writer as ThreadAuditWriter).stats;
    expect(stats).toMatchObject({ inProcess: false, crashed: 0 });
    expect(stats.started).toBe(1);
    const a = args();
    const r = await w.callTool(c.key, 'github__create_issue', a);
    expect(r.status).toBe(200);
    expect(w.uncommittedAtUpstream).toEqual([]);
    expect(stats).toMatchObject({ started: 1, inProcess: false });
  });

  it.runIf(onPostgres)('PostgreSQL: an entry handed over before the server thread goes busy is committed while it is busy', async () => {
    const writer = w.app.proxy.service.writer as ThreadAuditWriter;
    const row = auditRowToWrite({ id: c.agent.id, name: c.agent.name });
    // A watcher inside PostgreSQL notes, on the database's clock, when the row becomes visible.
    const watcher = new pg.Client({ connectionString: w.testDb.url });
    await watcher.connect();
    try {
      await watcher.query(`
        create function pg_temp.visible_at(wanted uuid, ms int) returns timestamptz language plpgsql as $$
        declare deadline timestamptz := clock_timestamp() + make_interval(secs => ms / 1000.0);
        begin
          loop
            if exists (select 1 from audit_entries where id = wanted) then return clock_timestamp(); end if;
            if clock_timestamp() > deadline then return null; end if;
            perform pg_sleep(0.002);
          end loop;
        end $$`);
      const visibleAt = watcher.query<{ at: Date | null }>('select pg_temp.visible_at($1, 10000) as at', [row.id]);
      const written = writer.write(row);
      // The row goes to the thread at the end of this turn; then this thread is busy for a second.
      await Promise.resolve();
      busy(1000);
      // Sent now that this thread is free again (behind the watcher's query, whose answer waited too).
      const after = (await watcher.query<{ now: Date }>('select clock_timestamp() as now')).rows[0].now;
      await written;
      const at = (await visibleAt).rows[0].at;
      expect(at).not.toBeNull();
      // The row was visible most of a second before this thread was free: on this thread the INSERT
      // would only have started then.
      expect(after.getTime() - at!.getTime()).toBeGreaterThan(500);
    } finally {
      await watcher.end();
    }
  });

  it.runIf(onPostgres)('PostgreSQL: a thread that stops is replaced; its unanswered calls are refused (503, not forwarded), nothing is invented', async () => {
    const writer = w.app.proxy.service.writer as ThreadAuditWriter;
    const before = (await w.entries(c.agent.id)).length;
    // Hold the upstream so that calls are in flight, then stop the thread under a batch of new calls.
    const inFlight = Array.from({ length: 20 }, () => args());
    const thread = (writer as unknown as { worker: import('node:worker_threads').Worker }).worker;
    const answers = Promise.all(inFlight.map((a) => w.callTool(c.key, 'github__create_issue', a)));
    await new Promise((r) => setImmediate(r));
    await thread.terminate();
    const results = await answers;
    for (const [i, r] of results.entries()) {
      // Each call either went through (its entry committed before the thread stopped) or was refused.
      if (r.status === 200) expect(probes().has(inFlight[i][PROBE])).toBe(true);
      else {
        expect(r.status).toBe(503);
        expect(r.body.error.message).toMatch(/not forwarded/);
        expect(probes().has(inFlight[i][PROBE])).toBe(false);
      }
    }
    expect(writer.stats.crashed).toBe(1);
    expect(w.uncommittedAtUpstream).toEqual([]);
    // The next call starts a new thread and goes through.
    const a = args();
    expect((await w.callTool(c.key, 'github__create_issue', a)).status).toBe(200);
    expect(probes().has(a[PROBE])).toBe(true);
    expect(writer.stats).toMatchObject({ started: 2, inProcess: false });
    // Every forwarded call has its entry; a refused one may have one too (committed as the thread
    // stopped, before its answer got back), never one that was not sent.
    const rows = await w.entries(c.agent.id);
    const stored = new Set(rows.map((r) => (r.tool_args as Record<string, unknown>)[PROBE]));
    for (const [i, r] of results.entries()) if (r.status === 200) expect(stored.has(inFlight[i][PROBE])).toBe(true);
    expect(rows.length).toBeLessThanOrEqual(before + inFlight.length + 1);
    expect(stored.has(a[PROBE])).toBe(true);
  });

  it.runIf(onPostgres)('PostgreSQL: closing the database closes the thread; calls then get 503 and are not forwarded', async () => {
    const writer = w.app.proxy.service.writer as ThreadAuditWriter;
    await w.testDb.database.close();
    expect((writer as unknown as { worker: unknown }).worker).toBeUndefined();
    const a = args();
    const r = await w.callTool(c.key, 'github__create_issue', a);
    expect(r.status).toBe(503);
    expect(probes().has(a[PROBE])).toBe(false);
  });
});
