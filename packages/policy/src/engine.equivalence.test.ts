import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compilePolicyToCedar } from './cedar-text.ts';
import type { PolicyContent } from './content.ts';
import { PolicyEngine, type DecisionRequest, type EnginePolicy } from './engine.ts';
import { normalizeCallerIp } from './ip.ts';
import { localTimeIn } from './local-time.ts';

// The engine slices sets, passes only the context attributes a set reads, and evaluates every policy as
// a permit to learn all matches in one call. None of that may change a decision: compare it with plain
// Cedar over the agent's real policy texts, and each policy's match with Cedar on that policy alone.

const TOOLS = ['read', 'write', 'delete'];
const MEMBERS = ['m1', 'm2', 'm3'];

/** Mostly absent, so that policies often match. */
function sometimes<T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> {
  return fc.oneof({ arbitrary: fc.constant(undefined), weight: 3 }, { arbitrary: arb, weight: 1 });
}

const contentArb: fc.Arbitrary<PolicyContent> = fc.record({
  name: fc.constantFrom('A', 'B', 'C'),
  service: fc.constantFrom('github', 'github', 'slack'),
  effect: fc.constantFrom('permit', 'forbid'),
  tools: fc.oneof({ arbitrary: fc.constant([]), weight: 2 }, { arbitrary: fc.subarray(TOOLS, { minLength: 1 }), weight: 1 }),
  principal: fc.oneof(
    { arbitrary: fc.constant({ type: 'all_members' as const }), weight: 2 },
    { arbitrary: fc.subarray(MEMBERS, { minLength: 1 }).map((memberIds) => ({ type: 'specific_members' as const, memberIds })), weight: 1 },
  ),
  timeWindow: sometimes(
    fc.record(
      {
        daysOfWeek: fc.uniqueArray(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 7 }),
        hoursFrom: fc.integer({ min: 0, max: 23 }),
        hoursTo: fc.integer({ min: 0, max: 23 }),
        activeFrom: fc.constantFrom('2026-05-01', '2026-05-05'),
      },
      { requiredKeys: [] },
    ),
  ),
  callerIps: sometimes(fc.subarray(['10.0.0.0/8', '192.168.0.0/16', '2001:db8::/32'], { minLength: 1 })),
  conditions: sometimes(
    fc.array(
      fc.record({ key: fc.constantFrom('repo', 'branch'), op: fc.constantFrom('eq', 'neq', 'contains', 'startsWith'), value: fc.constantFrom('acme', 'acme/web', 'main', '') }),
      { minLength: 1, maxLength: 2 },
    ),
  ),
}) as fc.Arbitrary<PolicyContent>;

const requestArb = fc.record({
  tool: fc.constantFrom(...TOOLS, 'other'),
  member: fc.constantFrom(...MEMBERS, 'm4'),
  time: fc.integer({ min: Date.UTC(2026, 4, 2), max: Date.UTC(2026, 4, 9) }).map((ms) => new Date(ms)),
  timezone: fc.constantFrom('UTC', 'America/New_York', 'Asia/Kolkata', 'Not/AZone'),
  callerIp: fc.constantFrom('10.1.2.3', '192.168.7.7', '2001:db8::9', '8.8.8.8', null),
  args: fc.record({ repo: fc.constantFrom('acme/web', 'other/acme', 'x'), branch: fc.constantFrom('main', 'dev') }, { requiredKeys: [] }),
});

function fullContext(req: DecisionRequest): cedar.Context {
  const context: cedar.Context = { args: req.arguments as Record<string, string> };
  const local = localTimeIn(req.time, req.agent.timezone);
  if (local) Object.assign(context, { localDay: local.dayOfWeek, localHour: local.hour, localDate: local.dateNumber });
  const ip = normalizeCallerIp(req.callerIp);
  if (ip) context.callerIp = ip;
  return context;
}

function plainCedar(texts: Record<string, string>, req: DecisionRequest) {
  const answer = cedar.isAuthorized({
    principal: { type: 'NS::Member', id: req.member.id },
    action: { type: 'NS::Action', id: req.tool },
    resource: { type: 'NS::Service', id: req.service },
    context: fullContext(req),
    policies: { staticPolicies: texts },
    entities: [],
  });
  if (answer.type !== 'success') throw new Error(answer.errors.map((e) => e.message).join('; '));
  expect(answer.response.diagnostics.errors).toEqual([]);
  return answer.response;
}

describe('engine ≡ plain Cedar', () => {
  it('decides and matches like Cedar over the real texts', () => {
    const engine = new PolicyEngine();
    let revision = 0;
    const seen = { allow: 0, deny: 0, forbidAndPermit: 0 };
    fc.assert(
      fc.property(fc.array(fc.tuple(contentArb, fc.boolean()), { minLength: 1, maxLength: 6 }), requestArb, (specs, r) => {
        const policies: EnginePolicy[] = specs.map(([content, enabled], i) => ({ id: `p${i}`, key: `k${i}`, name: content.name, version: 1, enabled, content }));
        const req: DecisionRequest = {
          agent: { id: 'a', trustMode: 'untrusted', timezone: r.timezone },
          member: { id: r.member },
          service: 'github',
          namespace: 'NS',
          tool: r.tool,
          arguments: r.args,
          time: r.time,
          callerIp: r.callerIp,
        };
        const decision = engine.decide({ agentId: 'a', revision: String(++revision), policies }, req);
        expect(decision.errors).toBeUndefined();

        const relevant = policies.filter((p) => p.enabled && p.content.service === 'github');
        if (relevant.length === 0) {
          expect(decision.rule).toBe('fail_closed');
          return;
        }
        const texts = Object.fromEntries(relevant.map((p) => [p.id, compilePolicyToCedar({ id: p.id, key: p.key, content: p.content, namespace: 'NS' })]));
        expect(decision.decision).toBe(plainCedar(texts, req).decision === 'allow' ? 'ALLOW' : 'DENY');

        const matchedAlone = relevant
          .filter((p) => {
            const response = plainCedar({ [p.id]: texts[p.id] }, req);
            return p.content.effect === 'permit' ? response.decision === 'allow' : response.diagnostics.reason.includes(p.id);
          })
          .map((p) => p.id);
        expect(decision.matched.map((m) => m.id)).toEqual(matchedAlone);
        seen[decision.decision === 'ALLOW' ? 'allow' : 'deny']++;
        if (new Set(decision.matched.map((m) => m.effect)).size === 2) seen.forbidAndPermit++;
      }),
      // A fixed seed: the coverage checks below count generated cases, so they must not depend on luck.
      { numRuns: 200, seed: 20261122 },
    );
    engine.invalidate();
    // The runs covered both outcomes, and forbids matching alongside permits.
    expect(seen.allow).toBeGreaterThan(10);
    expect(seen.deny).toBeGreaterThan(10);
    expect(seen.forbidAndPermit).toBeGreaterThan(5);
  });
});
