// Shared by the browser tests: reading the demo installation, the rendered audit list, and the API's
// own answer for the same filter.
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import type { ConsoleWorld } from './harness.ts';

export interface DemoRefs {
  agents: Record<string, { id: string; status: string }>;
  /** `${agentName}:${displayName}` → member */
  members: Record<string, { id: string; agentId: string; status: string; role: string }>;
  /** `${agentName}:${policyName}` → policy */
  policies: Record<string, { id: string; version: number; enabled: boolean }>;
}

/** Ids of the demo installation, looked up by name (the demo seed's names are stable). */
export async function demoRefs(world: ConsoleWorld): Promise<DemoRefs> {
  const db = world.database.db;
  const agents = await db.selectFrom('agents').select(['id', 'name', 'status']).execute();
  const byId = new Map(agents.map((a) => [a.id, a.name]));
  const members = await db.selectFrom('members').select(['id', 'agent_id', 'display_name', 'status', 'role']).execute();
  const policies = await db.selectFrom('policies').select(['id', 'agent_id', 'name', 'current_version', 'enabled']).execute();
  return {
    agents: Object.fromEntries(agents.map((a) => [a.name, { id: a.id, status: a.status }])),
    members: Object.fromEntries(members.map((m) => [`${byId.get(m.agent_id)}:${m.display_name}`, { id: m.id, agentId: m.agent_id, status: m.status, role: m.role }])),
    policies: Object.fromEntries(policies.map((p) => [`${byId.get(p.agent_id)}:${p.name}`, { id: p.id, version: p.current_version, enabled: p.enabled }])),
  };
}

export function pick<T>(map: Record<string, T>, key: string): T {
  const value = map[key];
  if (!value) throw new Error(`the demo installation has no ${key} (has: ${Object.keys(map).join(', ')})`);
  return value;
}

export interface RenderedRow {
  id: string;
  index: number;
  decision: string;
  member: string;
  tool: string;
  service: string;
  time: string;
}

/** The audit rows in the DOM (the list is virtualised: the rows in view plus overscan), in list order. */
export async function renderedRows(page: Page): Promise<RenderedRow[]> {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll<HTMLElement>('[data-testid="audit-row"]'))
      .map((row) => {
        const cell = (id: string) => row.querySelector(`[data-testid="${id}"]`);
        return {
          id: row.dataset.entryId ?? '',
          index: Number(row.dataset.index),
          decision: row.dataset.decision ?? '',
          member: cell('audit-cell-member')?.textContent?.trim() ?? '',
          tool: cell('audit-cell-tool')?.textContent?.trim() ?? '',
          service: cell('audit-cell-service')?.textContent?.trim() ?? '',
          time: cell('audit-cell-time')?.getAttribute('datetime') ?? '',
        };
      })
      .sort((a, b) => a.index - b.index),
  );
}

export interface ApiEntry {
  id: string;
  timestamp: string;
  decision: string;
  service: string;
  tool: string;
  agentName: string;
  memberId: string | null;
  memberName: string;
  matchedPolicies: { id: string; version: number }[];
}

/** The API's first page for a filter (GraphQL, as the signed-in admin). */
export async function apiEntries(world: ConsoleWorld, filter: Record<string, string>, first = 100): Promise<ApiEntry[]> {
  const data = await world.graphql(
    `query ($filter: AuditFilter, $first: Int) { auditEntries(filter: $filter, first: $first) { edges { node { id timestamp decision service tool agentName memberId memberName matchedPolicies { id version } } } } }`,
    { filter, first },
  );
  return data.auditEntries.edges.map((e: { node: ApiEntry }) => e.node);
}

/** Entries matching a filter, over all time unless the filter says `from` (auditStats alone defaults to 24 hours). */
export async function apiTotal(world: ConsoleWorld, filter: Record<string, string>): Promise<number> {
  const data = await world.graphql(`query ($filter: AuditFilter) { auditStats(filter: $filter) { total } }`, { filter: { from: '2000-01-01', ...filter } });
  return data.auditStats.total;
}

/**
 * Waits until the list shows exactly the API's entries for `filter`, in order (as many as are rendered,
 * at least `min`), and returns what was rendered.
 */
export async function expectListMatchesApi(page: Page, world: ConsoleWorld, filter: Record<string, string>, min = 1): Promise<RenderedRow[]> {
  const expected = await apiEntries(world, filter);
  expect(expected.length, `the API has entries for ${JSON.stringify(filter)}`).toBeGreaterThanOrEqual(min);
  let rows: RenderedRow[] = [];
  await expect
    .poll(
      async () => {
        rows = await renderedRows(page);
        if (rows.length === 0) return 'no rows rendered yet';
        const count = Number(await page.getByTestId('audit-list').getAttribute('data-count', { timeout: 1000 }).catch(() => -1));
        if (Math.min(count, 100) !== expected.length) return `the list holds ${count} entries, the API answered ${expected.length}`;
        const got = rows.map((r) => r.id);
        const want = expected.slice(0, rows.length).map((e) => e.id);
        return got.join() === want.join() ? 'same' : `rendered ${got.slice(0, 3).join(', ')}…, the API ${want.slice(0, 3).join(', ')}…`;
      },
      { timeout: 15_000, interval: 100 },
    )
    .toBe('same');
  expect(rows.length).toBeGreaterThanOrEqual(Math.min(min, expected.length));
  return rows;
}

export function parseCount(text: string | null): number {
  return Number((text ?? '').replace(/[^\d]/g, ''));
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
