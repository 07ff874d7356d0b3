import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.ts';

const PAGE_QUERY = `query($first: Int, $after: String, $filter: AuditFilter) {
  auditEntries(first: $first, after: $after, filter: $filter) {
    edges { cursor node { id timestamp decision agentName tool matchedPolicies { id } } }
    pageInfo { hasNextPage endCursor }
  }
}`;

describe('audit entries: keyset paging and query count', () => {
  let t: TestApp;
  let token: string;
  let agentId: string;
  const queries: string[] = [];
  let counting = false;
  const base = Date.UTC(2026, 9, 1, 12, 0, 0);

  beforeAll(async () => {
    t = await startTestApp({ onQuery: (sql) => counting && queries.push(sql) });
    const owner = await t.f.accountWithToken();
    token = owner.token;
    const agent = await t.f.agent({ name: 'pager', owner: owner.account });
    agentId = agent.id;
    // 2,400 entries, many sharing a timestamp (ties must be ordered by id and never reorder).
    const rows = Array.from({ length: 2400 }, (_, i) => ({
      agent_id: agent.id,
      agent_name: 'pager',
      timestamp: new Date(base + Math.floor(i / 7) * 1000),
      decision: i % 4 === 0 ? 'DENY' : 'ALLOW',
      tool: `tool_${i % 13}`,
      matched_policies: [{ id: randomUUID(), key: 'k', name: 'n', version: 1, effect: 'permit' }],
    }));
    for (let i = 0; i < rows.length; i += 500) await t.f.auditEntries(rows.slice(i, i + 500));
  });
  afterAll(async () => t?.close());

  it('walks every entry exactly once, newest first, while new entries arrive between pages', async () => {
    const expected = (
      await t.testDb.database.db.selectFrom('audit_entries').select(['id', 'timestamp']).orderBy('timestamp', 'desc').orderBy('id', 'desc').execute()
    ).map((r) => r.id);
    const seen: string[] = [];
    let after: string | null = null;
    let inserted = 0;
    for (let page = 0; page < 100; page++) {
      const r: any = await t.graphql<any>(PAGE_QUERY, { first: 97, after }, token);
      expect(r.body.errors).toBeUndefined();
      const conn: any = r.body.data.auditEntries;
      seen.push(...conn.edges.map((e: any) => e.node.id));
      // Newer entries (and some with a timestamp equal to the newest) land while the client pages.
      await t.f.auditEntries([
        { agent_id: agentId, agent_name: 'pager', timestamp: new Date() },
        { agent_id: agentId, agent_name: 'pager', timestamp: new Date(base + 342 * 1000) },
      ]);
      inserted += 2;
      if (!conn.pageInfo.hasNextPage) break;
      after = conn.pageInfo.endCursor;
    }
    expect(inserted).toBeGreaterThan(10);
    expect(new Set(seen).size).toBe(seen.length);
    // Everything that existed when paging began is seen, in order; nothing older was skipped.
    expect(seen.filter((id) => expected.includes(id))).toEqual(expected);
  });

  it('costs a constant number of queries for a page of 500 entries', async () => {
    const count = async (first: number) => {
      queries.length = 0;
      counting = true;
      const r = await t.graphql<any>(PAGE_QUERY, { first }, token);
      counting = false;
      expect(r.body.errors).toBeUndefined();
      expect(r.body.data.auditEntries.edges).toHaveLength(first);
      return queries.length;
    };
    const small = await count(5);
    const large = await count(500);
    expect(large).toBe(small);
    // Authentication, access and the page itself.
    expect(large).toBeLessThanOrEqual(4);
  });

  it('rejects a forged cursor and out-of-range page sizes with typed errors', async () => {
    const bad = await t.graphql<any>(PAGE_QUERY, { first: 10, after: 'not-a-cursor' }, token);
    expect(bad.body.errors[0].extensions).toMatchObject({ code: 'VALIDATION_FAILED', field: 'after' });
    const big = await t.graphql<any>(PAGE_QUERY, { first: 501 }, token);
    expect(big.body.errors[0].extensions).toMatchObject({ code: 'VALIDATION_FAILED', field: 'first' });
    const badUuid = await t.graphql<any>(PAGE_QUERY, { first: 10, filter: { member: 'x' } }, token);
    expect(badUuid.body.errors[0].extensions).toMatchObject({ code: 'VALIDATION_FAILED', field: 'member' });
    const order = await t.graphql<any>(PAGE_QUERY, { first: 10, filter: { from: '2026-05-02', to: '2026-05-01' } }, token);
    expect(order.body.errors[0].extensions).toMatchObject({ code: 'VALIDATION_FAILED', field: 'from' });
  });
});
