import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.ts';

const STATS = `query($f: AuditFilter, $b: StatsBucket) {
  auditStats(filter: $f, bucket: $b) {
    total allowed denied denyRatio bucket
    series { start allowed denied }
    services { service total allowed denied topTools { tool total denied } topDenyingPolicies { policyId key count } }
  }
}`;

interface Row { ts: number; decision: 'ALLOW' | 'DENY'; service: string; tool: string; agent: string; policy: string | null; matched: string[] }

/** Stats must equal what a plain count over the entries gives, for ranges that cut buckets in half. */
describe('audit stats', () => {
  let t: TestApp;
  let token: string;
  const rows: Row[] = [];
  const base = Date.UTC(2026, 10, 1, 0, 0, 0);
  const policies = [0, 1, 2].map((i) => ({ id: randomUUID(), key: `p${i}`, name: `Policy ${i}`, version: 1, effect: 'forbid' as const }));

  beforeAll(async () => {
    t = await startTestApp();
    const owner = await t.f.accountWithToken();
    token = owner.token;
    const agents = [await t.f.agent({ name: 'alpha-bot', owner: owner.account }), await t.f.agent({ name: 'beta-bot', owner: owner.account })];
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const services = ['github', 'slack', 'linear'];
    const tools = ['list_repositories', 'create_issue', 'delete_file', 'post_message'];
    const insert = [];
    for (let i = 0; i < 1500; i++) {
      const agent = agents[Math.floor(rnd() * 2)];
      const decision = rnd() < 0.3 ? 'DENY' : 'ALLOW';
      const p = decision === 'DENY' && rnd() < 0.8 ? policies[Math.floor(rnd() * 3)] : null;
      const row: Row = {
        ts: base + Math.floor(rnd() * 3 * 86_400_000),
        decision,
        service: services[Math.floor(rnd() * 3)],
        tool: tools[Math.floor(rnd() * 4)],
        agent: agent.name,
        policy: p?.id ?? null,
        matched: p ? [p.id] : [],
      };
      rows.push(row);
      insert.push({
        agent_id: agent.id,
        agent_name: agent.name,
        timestamp: new Date(row.ts),
        decision,
        service: row.service,
        tool: row.tool,
        policy_id: row.policy,
        matched_policy_ids: row.matched,
        matched_policies: p ? [p] : [],
      });
    }
    for (let i = 0; i < insert.length; i += 500) await t.f.auditEntries(insert.slice(i, i + 500));
  });
  afterAll(async () => t?.close());

  function expected(filter: (r: Row) => boolean, from: number, until: number, unit: number) {
    const sel = rows.filter((r) => r.ts >= from && r.ts < until && filter(r));
    const series = new Map<number, { allowed: number; denied: number }>();
    for (let b = Math.floor(from / unit) * unit; b < until; b += unit) series.set(b, { allowed: 0, denied: 0 });
    for (const r of sel) {
      const p = series.get(Math.floor(r.ts / unit) * unit)!;
      if (r.decision === 'DENY') p.denied++;
      else p.allowed++;
    }
    const byService = new Map<string, Row[]>();
    for (const r of sel) byService.set(r.service, [...(byService.get(r.service) ?? []), r]);
    return {
      total: sel.length,
      denied: sel.filter((r) => r.decision === 'DENY').length,
      series: [...series.entries()].map(([start, v]) => ({ start: new Date(start).toISOString(), ...v })),
      services: Object.fromEntries(
        [...byService.entries()].map(([s, rs]) => {
          const tools = new Map<string, { total: number; denied: number }>();
          const pol = new Map<string, number>();
          for (const r of rs) {
            const x = tools.get(r.tool) ?? { total: 0, denied: 0 };
            x.total++;
            if (r.decision === 'DENY') x.denied++;
            tools.set(r.tool, x);
            if (r.decision === 'DENY' && r.policy) pol.set(r.policy, (pol.get(r.policy) ?? 0) + 1);
          }
          return [s, { total: rs.length, tools: Object.fromEntries(tools), policies: Object.fromEntries(pol) }];
        }),
      ),
    };
  }

  const cases: { name: string; f: Record<string, string>; filter: (r: Row) => boolean; bucket: 'minute' | 'hour' | 'day'; from: number; to: number }[] = [
    { name: 'unaligned range, hour buckets', f: {}, filter: () => true, bucket: 'hour', from: base + 37_123, to: base + 30 * 3_600_000 + 13 * 60_000 + 5_500 },
    { name: 'minute buckets with a decision filter', f: { result: 'DENY' }, filter: (r) => r.decision === 'DENY', bucket: 'minute', from: base + 5 * 3_600_000 + 30_000, to: base + 7 * 3_600_000 - 1 },
    { name: 'day buckets, service and tool substring', f: { service: 'github', tool: 'DELETE' }, filter: (r) => r.service === 'github' && r.tool.includes('delete'), bucket: 'day', from: base, to: base + 3 * 86_400_000 - 1 },
    { name: 'agent substring and a policy', f: { agent: 'ALPHA', policy: '' }, filter: (r) => r.agent.includes('alpha'), bucket: 'hour', from: base + 1_000, to: base + 50 * 3_600_000 },
  ];

  for (const c of cases) {
    it(`equals an independent count: ${c.name}`, async () => {
      const f: Record<string, string> = { ...c.f, from: new Date(c.from).toISOString(), to: new Date(c.to).toISOString() };
      let filter = c.filter;
      if ('policy' in f) {
        f.policy = policies[1].id;
        filter = (r) => c.filter(r) && r.matched.includes(policies[1].id);
      }
      const unit = c.bucket === 'minute' ? 60_000 : c.bucket === 'hour' ? 3_600_000 : 86_400_000;
      const exp = expected(filter, c.from, c.to + 1, unit);
      const r = await t.graphql<any>(STATS, { f, b: c.bucket }, token);
      expect(r.body.errors).toBeUndefined();
      const s = r.body.data.auditStats;
      expect(exp.total).toBeGreaterThan(0);
      expect(s.total).toBe(exp.total);
      expect(s.denied).toBe(exp.denied);
      expect(s.allowed).toBe(exp.total - exp.denied);
      expect(s.denyRatio).toBeCloseTo(exp.denied / exp.total, 10);
      expect(s.series).toEqual(exp.series);
      for (const svc of s.services) {
        const e = exp.services[svc.service];
        expect(svc.total).toBe(e.total);
        for (const tool of svc.topTools) expect({ total: tool.total, denied: tool.denied }).toEqual(e.tools[tool.tool]);
        for (const p of svc.topDenyingPolicies) expect(p.count).toBe(e.policies[p.policyId]);
      }
      expect(s.services.map((x: any) => x.service).sort()).toEqual(Object.keys(exp.services).sort());
    });
  }

  it('rejects a bucket count that would be absurd', async () => {
    const r = await t.graphql<any>(STATS, { f: { from: '2020-01-01', to: '2026-01-01' }, b: 'minute' }, token);
    expect(r.body.errors[0].extensions).toMatchObject({ code: 'VALIDATION_FAILED', field: 'bucket' });
  });
});
