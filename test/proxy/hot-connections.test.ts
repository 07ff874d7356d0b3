import { afterAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { testBackend } from '../support/backend.ts';
import { startProxyWorld, type ProxyWorld } from './harness.ts';

// The hot path's PostgreSQL connections (packages/db/src/database.ts) are kept through quiet spells:
// agents call in bursts, and a call after a spell would otherwise open a connection, SET its plan mode
// and prepare its statements again (measured: 15.0–18.7 ms for the first call after 12 s idle, against
// 4.9–8.3 ms with the connections kept; docs/benchmarks.md). The general pool still closes idle ones.

const backend = testBackend();

describe.skipIf(backend === 'pglite')('the hot path keeps its PostgreSQL connections (needs PostgreSQL: PGlite has no connections)', () => {
  let w: ProxyWorld | undefined;
  let admin: pg.Client | undefined;
  afterAll(async () => {
    await admin?.end();
    await w?.close();
  });

  it('a call after a quiet spell longer than the idle timeout runs on the connections it used before', async () => {
    const IDLE_TIMEOUT_MS = 100;
    w = await startProxyWorld({ database: { idleTimeoutMs: IDLE_TIMEOUT_MS } });
    admin = new pg.Client({ connectionString: w.testDb.url, application_name: 'hot-connections test' });
    await admin.connect();
    const backends = async (name: string) =>
      (
        await admin!.query<{ pid: number; backend_start: Date }>(
          'select pid, backend_start from pg_stat_activity where datname = current_database() and application_name = $1 order by pid',
          [name],
        )
      ).rows.map((r) => `${r.pid}@${r.backend_start.toISOString()}`);

    const c = await w.caller({ services: ['github'] });
    for (let i = 0; i < 3; i++) expect((await w.callTool(c.key, 'github__create_issue', { owner: 'acme', repo: 'api', title: `before ${i}` })).status).toBe(200);
    const hot = await backends('wicket hot path');
    expect(hot.length).toBeGreaterThan(0);
    // The general pool's connections: the setup above (agent, member, key) wrote through it.
    expect((await backends('wicket')).length).toBeGreaterThan(0);

    // A quiet spell until the general pool has closed every idle connection, then five idle timeouts
    // more: the hot connections sat idle past the timeout that closed the others.
    const deadline = Date.now() + 10_000;
    while ((await backends('wicket')).length > 0) {
      if (Date.now() > deadline) throw new Error('the general pool kept its idle connections past 10 s');
      await new Promise((r) => setTimeout(r, IDLE_TIMEOUT_MS));
    }
    await new Promise((r) => setTimeout(r, 5 * IDLE_TIMEOUT_MS));
    expect(await backends('wicket hot path')).toEqual(hot);

    expect((await w.callTool(c.key, 'github__create_issue', { owner: 'acme', repo: 'api', title: 'after' })).status).toBe(200);
    expect(await backends('wicket hot path')).toEqual(hot);
    const titles = (await w.entries(c.agent.id)).map((e) => (e.tool_args as { title: string }).title).sort();
    expect(titles).toEqual(['after', 'before 0', 'before 1', 'before 2']);
  });
});
