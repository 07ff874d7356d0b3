import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.ts';
import {
  BASE,
  DAY,
  expectedEntryJson,
  fetchAllAuditPages,
  newestFirst,
  prng,
  seedAuditWorld,
  visibleTo,
  type AuditWorld,
  type SeededEntry,
} from '../support/audit-world.ts';

/** One value of one filter parameter, with the expectation computed from the seeded rows. */
interface FilterValue {
  param: string;
  raw: string;
  /** the value in GraphQL's AuditFilter input */
  gql: string;
  test: (e: SeededEntry) => boolean;
  /** time bounds, so from/to combinations that are empty ranges (a 400) can be left out */
  fromMs?: number;
  untilMs?: number;
}

const H = 3_600_000;
/** hundreds of requests each: generous on a loaded machine */
const HEAVY = 300_000;

function dimensions(w: AuditWorld): FilterValue[][] {
  const v = (param: string, raw: string, test: (e: SeededEntry) => boolean, gql = raw): FilterValue => ({ param, raw, gql, test });
  const from = (raw: string, ms: number): FilterValue => ({ param: 'from', raw, gql: raw, fromMs: ms, test: (e) => e.timestamp.getTime() >= ms });
  const to = (raw: string, untilMs: number): FilterValue => ({ param: 'to', raw, gql: raw, untilMs, test: (e) => e.timestamp.getTime() < untilMs });
  const [, noDeletes, helperReads, , , secret] = w.policies;
  return [
    [v('result', 'ALLOW', (e) => e.decision === 'ALLOW'), v('result', 'DENY', (e) => e.decision === 'DENY'), v('result', 'deny', (e) => e.decision === 'DENY', 'DENY')],
    [v('service', 'github', (e) => e.service === 'github'), v('service', 'slack', (e) => e.service === 'slack')],
    [
      v('tool', 'issue', (e) => e.tool.toLowerCase().includes('issue')),
      v('tool', 'ISSUE', (e) => e.tool.toLowerCase().includes('issue')),
      // `_` is a LIKE wildcard: unescaped, "o_i" would match list_repositories ("ori")
      v('tool', 'o_i', (e) => e.tool.toLowerCase().includes('o_i')),
      v('tool', 'Delete', (e) => e.tool.toLowerCase().includes('delete')),
    ],
    [
      v('agent', 'billing', (e) => e.agentName.toLowerCase().includes('billing')),
      v('agent', 'BOT', (e) => e.agentName.toLowerCase().includes('bot')),
      v('agent', 'deploy agent', (e) => e.agentName.toLowerCase().includes('deploy agent')),
    ],
    [
      v('member', w.memberA.onTrusted, (e) => e.memberId === w.memberA.onTrusted),
      v('member', w.ownerMemberIds[w.agents.billingBot].toUpperCase(), (e) => e.memberId === w.ownerMemberIds[w.agents.billingBot]),
      v('member', w.outsider.memberId, (e) => e.memberId === w.outsider.memberId),
    ],
    [
      v('policy', noDeletes.id, (e) => e.matchedPolicies.some((p) => p.id === noDeletes.id)),
      v('policy', helperReads.id, (e) => e.matchedPolicies.some((p) => p.id === helperReads.id)),
      v('policy', secret.id, (e) => e.matchedPolicies.some((p) => p.id === secret.id)),
    ],
    [
      from('2026-03-02', BASE + DAY),
      from('2026-03-02T12:00:00+02:00', BASE + DAY + 10 * H),
      from(new Date(BASE + 2 * DAY).toISOString(), BASE + 2 * DAY),
      from('2026-03-03 06:30', BASE + 2 * DAY + 6.5 * H),
    ],
    [
      to('2026-03-03', BASE + 3 * DAY),
      to('2026-03-02T23:59:59.999Z', BASE + 2 * DAY),
      to('2026-03-04T00:00:00', BASE + 3 * DAY + 1),
      to('2026-03-02T12:00:00+02:00', BASE + DAY + 10 * H + 1),
    ],
    [v('agentId', w.agents.billingHelper, (e) => e.agentId === w.agents.billingHelper), v('agentId', w.agents.foreign, (e) => e.agentId === w.agents.foreign)],
  ];
}

/** Singles, every pair of parameters with every pair of values, and a fixed sample of triples. */
function combinations(dims: FilterValue[][]): FilterValue[][] {
  const out: FilterValue[][] = [];
  for (const d of dims) for (const x of d) out.push([x]);
  for (let i = 0; i < dims.length; i++)
    for (let j = i + 1; j < dims.length; j++) for (const x of dims[i]) for (const y of dims[j]) out.push([x, y]);
  const rand = prng(7);
  for (let k = 0; k < 80; k++) {
    const picks = new Set<number>();
    while (picks.size < 3) picks.add(rand.int(dims.length));
    out.push([...picks].map((i) => rand.pick(dims[i])));
  }
  // A from after the to is a 400 (covered by the validation tests), not a combination to list.
  return out.filter((c) => {
    const f = c.find((x) => x.fromMs !== undefined)?.fromMs;
    const u = c.find((x) => x.untilMs !== undefined)?.untilMs;
    return f === undefined || u === undefined || f < u;
  });
}

const label = (c: FilterValue[]) => c.map((x) => `${x.param}=${x.raw}`).join('&');
const query = (c: FilterValue[]) => new URLSearchParams(c.map((x) => [x.param, x.raw]));
const expectedIds = (w: AuditWorld, who: Parameters<typeof visibleTo>[1], c: FilterValue[]) =>
  w.entries
    .filter(visibleTo(w, who))
    .filter((e) => c.every((x) => x.test(e)))
    .sort(newestFirst)
    .map((e) => e.id);

describe('GET /api/audit filters', () => {
  let t: TestApp;
  let w: AuditWorld;
  let combos: FilterValue[][];

  beforeAll(async () => {
    t = await startTestApp();
    w = await seedAuditWorld(t);
    combos = combinations(dimensions(w));
  });
  afterAll(async () => t?.close());

  it('seeds what the filter tests rely on: ties, both decisions, day edges, a foreign agent', () => {
    const stamps = w.entries.map((e) => e.timestamp.getTime());
    expect(new Set(stamps).size).toBeLessThan(stamps.length / 2);
    expect(stamps).toContain(BASE + 2 * DAY);
    expect(stamps).toContain(BASE + 2 * DAY - 1);
    expect(w.entries.filter((e) => e.agentId === w.agents.foreign).length).toBeGreaterThan(0);
    expect(w.entries.filter(visibleTo(w, 'owner')).length).toBe(300);
  });

  it('lists every visible entry, newest first, with the spec §5 fields', async () => {
    const res = await t.request('/api/audit', { token: w.owner.token });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = await res.json();
    expect(Object.keys(body).sort()).toEqual(['entries', 'limit', 'nextOffset', 'offset']);
    expect(body).toMatchObject({ limit: 500, offset: 0, nextOffset: null });
    const expected = w.entries.filter(visibleTo(w, 'owner')).sort(newestFirst);
    expect(body.entries.map((e: any) => e.id)).toEqual(expected.map((e) => e.id));
    for (const [i, entry] of body.entries.entries()) {
      const { cursor, upstreamStatus, upstreamError, ...legacy } = entry;
      expect(legacy).toEqual(expectedEntryJson(expected[i], false));
      expect(typeof cursor).toBe('string');
      expect(upstreamStatus).toBe(expected[i].upstreamStatus);
      expect(upstreamError).toBeNull();
    }
  });

  it('answers every filter, pair of filters and sampled triple like an independent JS filter', async () => {
    expect(combos.length).toBeGreaterThan(300);
    let nonEmpty = 0;
    const failures: string[] = [];
    for (const c of combos) {
      const res = await t.request(`/api/audit?${query(c)}`, { token: w.owner.token });
      const body = await res.json();
      if (res.status !== 200) {
        failures.push(`${label(c)} -> ${res.status} ${JSON.stringify(body)}`);
        continue;
      }
      const want = expectedIds(w, 'owner', c);
      const got = body.entries.map((e: any) => e.id);
      if (JSON.stringify(got) !== JSON.stringify(want)) failures.push(`${label(c)}: got ${got.length}, want ${want.length}`);
      if (want.length > 0) nonEmpty++;
    }
    expect(failures).toEqual([]);
    // The comparison means something only if most combinations select rows.
    expect(nonEmpty).toBeGreaterThan(combos.length * 0.6);
  }, HEAVY);

  it('applies the same filters within what a member may see', async () => {
    const singles = dimensions(w).flat().map((x) => [x]);
    for (const c of singles) {
      const res = await t.request(`/api/audit?${query(c)}`, { token: w.memberA.token });
      expect(res.status, label(c)).toBe(200);
      const got = (await res.json()).entries.map((e: any) => e.id);
      expect(got, label(c)).toEqual(expectedIds(w, 'memberA', c));
    }
  });

  it('pages with limit and offset: every entry exactly once, in order, ties included', async () => {
    const cases = [[], ...combos.filter((_, i) => i % 37 === 0)];
    for (const c of cases) {
      const want = expectedIds(w, 'owner', c);
      for (const limit of [1, 7, 50]) {
        if (limit === 1 && want.length > 60) continue;
        const got = (await fetchAllAuditPages(t, w.owner.token, query(c), limit)).map((e) => e.id);
        expect(got, `${label(c)} limit=${limit}`).toEqual(want);
      }
    }
  }, HEAVY);

  it('reports limit, offset and nextOffset of each page', async () => {
    const all = w.entries.filter(visibleTo(w, 'owner')).sort(newestFirst);
    const page = await (await t.request('/api/audit?limit=100&offset=200', { token: w.owner.token })).json();
    expect(page).toMatchObject({ limit: 100, offset: 200, nextOffset: null });
    expect(page.entries.map((e: any) => e.id)).toEqual(all.slice(200, 300).map((e) => e.id));
    const middle = await (await t.request('/api/audit?limit=100&offset=150', { token: w.owner.token })).json();
    expect(middle).toMatchObject({ limit: 100, offset: 150, nextOffset: 250 });
    const beyond = await (await t.request('/api/audit?offset=1000', { token: w.owner.token })).json();
    expect(beyond).toEqual({ entries: [], limit: 500, offset: 1000, nextOffset: null });
  });

  it('ignores unknown query parameters and treats empty values as absent', async () => {
    const res = await t.request('/api/audit?format=json&page=3&result=&limit=&tool=', { token: w.owner.token });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.entries).toHaveLength(300);
    expect(body.limit).toBe(500);
  });

  it('returns the same entries as GraphQL auditEntries for the same filter', async () => {
    const cases = [[], ...combos.filter((_, i) => i % 5 === 0)];
    const failures: string[] = [];
    for (const c of cases) {
      const rest = (await fetchAllAuditPages(t, w.owner.token, query(c), 41)).map((e) => e.id);
      const filter = Object.fromEntries(c.map((x) => [x.param, x.gql]));
      const graph: string[] = [];
      let after: string | null = null;
      for (let guard = 0; guard < 100; guard++) {
        const r: { status: number; body: any } = await t.graphql(
          `query($filter: AuditFilter, $after: String) { auditEntries(filter: $filter, first: 37, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } }`,
          { filter, after },
          w.owner.token,
        );
        if (r.body.errors) throw new Error(`${label(c)}: ${JSON.stringify(r.body.errors)}`);
        const conn = r.body.data.auditEntries;
        graph.push(...conn.edges.map((e: any) => e.node.id));
        if (!conn.pageInfo.hasNextPage) break;
        after = conn.pageInfo.endCursor;
      }
      if (JSON.stringify(rest) !== JSON.stringify(graph)) failures.push(`${label(c)}: rest ${rest.length}, graphql ${graph.length}`);
    }
    expect(failures).toEqual([]);
  }, HEAVY);
});
