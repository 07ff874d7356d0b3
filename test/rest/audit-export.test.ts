import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.ts';
import { newestFirst, seedAuditWorld, visibleTo, type AuditWorld, type SeededEntry, expectedReason } from '../support/audit-world.ts';

const HEADER = 'timestamp,agent,member,tool,service,resource,decision,reason,duration,matched_policies';

/** Values a CSV writer or a spreadsheet gets wrong: separators, quotes, line breaks, formula starts. */
const TRICKY = [
  'Acme, Inc.',
  'Say "hi"',
  'multi\nline',
  'crlf\r\nline',
  '=SUM(A1)',
  '+1',
  '-2',
  '@x',
  '\tleading tab',
  '\rleading cr',
  'inner =SUM(A1) stays',
  '"quoted", =and, -more',
  'plain',
];

/** The spec's neutralisation, written again here so the test does not trust the implementation's. */
const neutral = (s: string) => (['=', '+', '-', '@', '\t', '\r'].includes(s.charAt(0)) ? `'${s}` : s);

function expectedRow(e: SeededEntry, hidePolicies = false): string[] {
  return [
    e.timestamp.toISOString(),
    neutral(e.agentName),
    neutral(e.memberName),
    neutral(e.tool),
    neutral(e.service),
    neutral(e.resource),
    e.decision,
    neutral(expectedReason(e, hidePolicies)),
    e.durationMs === null ? '' : String(e.durationMs),
    neutral(hidePolicies ? '' : e.matchedPolicies.map((p) => `${p.name} (v${p.version})`).join('; ')),
  ];
}

function parseCsv(text: string): string[][] {
  // Explicit CRLF: a record ended by a bare LF would not split, and the comparison would fail.
  return parse(text, { record_delimiter: '\r\n', relax_column_count: false });
}

describe('GET /api/audit/export', () => {
  let t: TestApp;
  let w: AuditWorld;
  let all: SeededEntry[];

  beforeAll(async () => {
    t = await startTestApp();
    w = await seedAuditWorld(t, {
      count: 520,
      seed: 99,
      decorate: (e, rand) => {
        if (rand.chance(0.5)) e.agentName = rand.pick(TRICKY);
        if (rand.chance(0.5)) e.memberName = rand.pick(TRICKY);
        if (rand.chance(0.5)) e.reason = rand.pick(TRICKY);
        if (rand.chance(0.2)) e.resource = rand.pick(TRICKY);
        if (e.matchedPolicies.length && rand.chance(0.3)) e.matchedPolicies[0].name = rand.pick(TRICKY);
        if (rand.chance(0.1)) e.matchedPolicies = e.matchedPolicies.map((p) => ({ ...p, name: `-${p.name}` }));
      },
    });
    all = w.entries.filter(visibleTo(w, 'owner')).sort(newestFirst);
  });
  afterAll(async () => t?.close());

  it('answers RFC 4180 CSV with CRLF, the exact header, a dated attachment and at most 500 rows', async () => {
    const before = new Date().toISOString().slice(0, 10);
    const res = await t.request('/api/audit/export', { token: w.owner.token });
    const after = new Date().toISOString().slice(0, 10);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    const disposition = res.headers.get('content-disposition');
    expect([`attachment; filename="wicket-audit-${before}.csv"`, `attachment; filename="wicket-audit-${after}.csv"`]).toContain(disposition);
    expect(res.headers.get('x-next-offset')).toBe('500');
    const text = await res.text();
    expect(text.startsWith(`${HEADER}\r\n`)).toBe(true);
    expect(text.endsWith('\r\n')).toBe(true);
    const rows = parseCsv(text);
    expect(rows[0]).toEqual(HEADER.split(','));
    expect(rows.slice(1)).toEqual(all.slice(0, 500).map((e) => expectedRow(e)));
  });

  it('round-trips commas, quotes, line breaks and neutralises formula-like cells', async () => {
    const text = await (await t.request('/api/audit/export?limit=500', { token: w.owner.token })).text();
    const cells = parseCsv(text).slice(1).flat();
    for (const v of ['Acme, Inc.', 'Say "hi"', 'multi\nline', 'crlf\r\nline', "'=SUM(A1)", "'+1", "'-2", "'@x", "'\tleading tab", "'\rleading cr", 'inner =SUM(A1) stays']) {
      expect(cells, JSON.stringify(v)).toContain(v);
    }
    for (const c of cells) expect(c, JSON.stringify(c)).not.toMatch(/^[=+\-@\t\r]/);
    // Quoting is RFC 4180: doubled quotes inside quoted fields, never backslash escapes.
    expect(text).toContain('"Say ""hi"""');
    expect(text).not.toContain('\\"');
  });

  it('pages with offset and X-Next-Offset: every row exactly once, in list order', async () => {
    const rows: string[][] = [];
    let offset: string | null = '0';
    let requests = 0;
    while (offset !== null) {
      const res = await t.request(`/api/audit/export?limit=40&offset=${offset}`, { token: w.owner.token });
      expect(res.status).toBe(200);
      const page = parseCsv(await res.text());
      expect(page[0]).toEqual(HEADER.split(','));
      expect(page.length - 1).toBeLessThanOrEqual(40);
      rows.push(...page.slice(1));
      offset = res.headers.get('x-next-offset');
      requests++;
    }
    expect(requests).toBe(Math.ceil(all.length / 40));
    expect(rows).toEqual(all.map((e) => expectedRow(e)));
  });

  it('ends with a page without X-Next-Offset, and an empty result is a header only', async () => {
    const last = await t.request('/api/audit/export?offset=500', { token: w.owner.token });
    expect(last.headers.get('x-next-offset')).toBeNull();
    expect(parseCsv(await last.text()).slice(1)).toEqual(all.slice(500).map((e) => expectedRow(e)));
    const empty = await t.request(`/api/audit/export?agentId=${w.agents.foreign}`, { token: w.owner.token });
    expect(empty.status).toBe(200);
    expect(await empty.text()).toBe(`${HEADER}\r\n`);
    expect(empty.headers.get('x-next-offset')).toBeNull();
  });

  it('applies the same filters as the list', async () => {
    const [, noDeletes] = w.policies;
    const cases: [string, (e: SeededEntry) => boolean][] = [
      ['result=DENY&service=github', (e) => e.decision === 'DENY' && e.service === 'github'],
      ['tool=DELETE&to=2026-03-03', (e) => e.tool.toLowerCase().includes('delete') && e.timestamp.getTime() < Date.UTC(2026, 2, 4)],
      [`policy=${noDeletes.id}&from=2026-03-02T00:00:00`, (e) => e.matchedPolicies.some((p) => p.id === noDeletes.id) && e.timestamp.getTime() >= Date.UTC(2026, 2, 2)],
      [`member=${w.memberA.onTrusted}`, (e) => e.memberId === w.memberA.onTrusted],
    ];
    for (const [q, test] of cases) {
      const res = await t.request(`/api/audit/export?${q}`, { token: w.owner.token });
      expect(res.status, q).toBe(200);
      const list = await (await t.request(`/api/audit?${q}`, { token: w.owner.token })).json();
      const want = all.filter(test);
      expect(list.entries.map((e: any) => e.id), q).toEqual(want.map((e) => e.id));
      expect(parseCsv(await res.text()).slice(1), q).toEqual(want.map((e) => expectedRow(e)));
    }
  });

  it('exports only what the caller may see, policy names hidden on a trusted agent', async () => {
    const mine = w.entries.filter(visibleTo(w, 'memberA')).sort(newestFirst);
    expect(mine.some((e) => e.agentId === w.agents.billingBot && e.matchedPolicies.length > 0)).toBe(true);
    const res = await t.request('/api/audit/export', { token: w.memberA.token });
    expect(parseCsv(await res.text()).slice(1)).toEqual(mine.map((e) => expectedRow(e, e.agentId === w.agents.billingBot)));
  });
});
