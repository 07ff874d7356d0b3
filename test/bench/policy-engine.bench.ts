/**
 * Policy engine latency in µs per decision (p50/p95) with 10, 100 and 1,000 policies on one agent:
 *   - cached:   the engine's pre-parsed per-(service, tool) sets, as the proxy runs it
 *   - cold:     the first decision of each (tool, member) on an agent not seen before
 *   - toggled:  the first decision of each (tool, member) after one policy of the agent was disabled
 *   - uncached: the agent's whole policy set parsed on every call (plain `isAuthorized`), for comparison
 *
 * A decision costs about 20 µs (the Cedar floor, printed first) plus 1.5 to 5 µs per policy in the
 * evaluated set, so the figure follows the set size: the wildcard policies of the service plus those
 * naming the tool.
 *
 *   npx tsx test/bench/policy-engine.bench.ts
 */
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { compilePolicyToCedar, PolicyEngine, type DecisionRequest, type EnginePolicy, type PolicyContent } from '../../packages/policy/src/index.ts';

const SERVICES = ['github', 'slack', 'linear', 'jira', 'notion'];
const TOOLS = Array.from({ length: 40 }, (_, i) => `tool_${i}`);
const MEMBERS = Array.from({ length: 20 }, (_, i) => `00000000-0000-4000-9000-${String(i).padStart(12, '0')}`);
const ITERATIONS = 5000;

/** Deterministic pseudo-random numbers (mulberry32), so every run measures the same policies. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(rand: () => number, items: T[], count: number): T[] {
  const chosen = new Set<T>();
  while (chosen.size < count) chosen.add(items[Math.floor(rand() * items.length)]);
  return [...chosen];
}

/** A plausible mix: most policies name a few tools, some name members, some carry conditions; 25% forbid. */
function makePolicies(count: number): EnginePolicy[] {
  const rand = random(count);
  return Array.from({ length: count }, (_, i) => {
    const effect = rand() < 0.25 ? 'forbid' : 'permit';
    const content: PolicyContent = {
      name: `Policy ${i}`,
      // The benchmarked service holds 40% of the agent's policies, the rest spread over four others.
      service: rand() < 0.4 ? 'github' : SERVICES[1 + Math.floor(rand() * (SERVICES.length - 1))],
      effect,
      tools: rand() < 0.05 ? [] : pick(rand, TOOLS, 1 + Math.floor(rand() * 3)),
      principal: rand() < 0.3 ? { type: 'specific_members', memberIds: pick(rand, MEMBERS, 1 + Math.floor(rand() * 3)) } : { type: 'all_members' },
      timeWindow: rand() < 0.2 ? { daysOfWeek: [1, 2, 3, 4, 5], hoursFrom: 9, hoursTo: 17 } : null,
      callerIps: rand() < 0.15 ? ['10.0.0.0/8', '2001:db8::/32'] : undefined,
      conditions: rand() < 0.15 ? [{ key: 'repo', op: 'startsWith', value: 'acme/' }] : undefined,
      denyMessage: effect === 'forbid' ? `Blocked by rule ${i}` : null,
    };
    return { id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, key: `policy-${i}`, name: content.name, version: 1, enabled: true, content };
  });
}

function request(i: number): DecisionRequest {
  return {
    agent: { id: 'agent-1', trustMode: 'untrusted', timezone: 'America/New_York' },
    member: { id: MEMBERS[i % MEMBERS.length] },
    service: 'github',
    namespace: 'GitHubMCP',
    tool: TOOLS[Math.floor(i / MEMBERS.length) % TOOLS.length],
    arguments: { repo: i % 2 ? 'acme/web' : 'other/x', title: 'hello', body: 'x'.repeat(200) },
    time: new Date(Date.UTC(2026, 4, 4, 12, i % 60)),
    callerIp: '10.1.2.3',
  };
}

function percentiles(samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))].toFixed(1).padStart(9);
  return `${at(0.5)} ${at(0.95)}`;
}

const combos = TOOLS.length * MEMBERS.length;

// The floor on this machine right now: one Cedar call on a one-policy pre-parsed set, empty context.
cedar.preparsePolicySet('bench-floor', { staticPolicies: { p: 'permit (principal, action, resource);' } });
const floor: number[] = [];
for (let i = 0; i < ITERATIONS; i++) {
  const t0 = performance.now();
  cedar.statefulIsAuthorized({
    principal: { type: 'NS::Member', id: 'm' },
    action: { type: 'NS::Action', id: 'a' },
    resource: { type: 'NS::Service', id: 's' },
    context: {},
    entities: [],
    preparsedPolicySetId: 'bench-floor',
  });
  floor.push((performance.now() - t0) * 1000);
}
console.log(`Cedar floor (1 policy, empty context): p50/p95 ${percentiles(floor)} µs`);
console.log(`µs per decision; service github, ${TOOLS.length} tools x ${MEMBERS.length} members`);
console.log('policies  mode                         p50       p95');
for (const count of [10, 100, 1000]) {
  const policies = makePolicies(count);
  const engine = new PolicyEngine();

  const cold: number[] = [];
  for (let i = 0; i < combos; i++) {
    const t0 = performance.now();
    engine.decide({ agentId: 'agent-1', revision: 'r1', policies }, request(i));
    cold.push((performance.now() - t0) * 1000);
  }
  const cached: number[] = [];
  const rules: Record<string, number> = {};
  for (let i = 0; i < ITERATIONS; i++) {
    const t0 = performance.now();
    const decision = engine.decide({ agentId: 'agent-1', revision: 'r1', policies }, request(i));
    cached.push((performance.now() - t0) * 1000);
    rules[decision.rule] = (rules[decision.rule] ?? 0) + 1;
  }
  // A DENY by a forbid costs a second Cedar call (to learn which permits matched too).
  const mix = Object.entries(rules).map(([rule, n]) => `${rule} ${Math.round((100 * n) / ITERATIONS)}%`).join(', ');
  console.log(`${String(count).padStart(8)}  cached (pre-parsed slices) ${percentiles(cached)}   (${mix})`);
  console.log(`${String(count).padStart(8)}  cold (first, new agent)    ${percentiles(cold)}`);

  const toggledPolicies = policies.map((p, i) => (i === Math.floor(count / 2) ? { ...p, enabled: false } : p));
  const toggled: number[] = [];
  for (let i = 0; i < combos; i++) {
    const t0 = performance.now();
    engine.decide({ agentId: 'agent-1', revision: 'r2', policies: toggledPolicies }, request(i));
    toggled.push((performance.now() - t0) * 1000);
  }
  console.log(`${String(count).padStart(8)}  toggled (first after change)${percentiles(toggled)}`);

  const texts = Object.fromEntries(policies.map((p) => [p.id, compilePolicyToCedar({ id: p.id, key: p.key, content: p.content, namespace: 'GitHubMCP' })]));
  const uncached: number[] = [];
  for (let i = 0; i < (count >= 1000 ? 100 : 1000); i++) {
    const req = request(i);
    const t0 = performance.now();
    cedar.isAuthorized({
      principal: { type: 'GitHubMCP::Member', id: req.member.id },
      action: { type: 'GitHubMCP::Action', id: req.tool },
      resource: { type: 'GitHubMCP::Service', id: 'github' },
      context: { args: { repo: String(req.arguments.repo) }, localTime: { dayOfWeek: 1, hour: 8, date: 20260504 }, callerIp: { __extn: { fn: 'ip', arg: '10.1.2.3' } } },
      policies: { staticPolicies: texts },
      entities: [],
    });
    uncached.push((performance.now() - t0) * 1000);
  }
  console.log(`${String(count).padStart(8)}  uncached (parse every call) ${percentiles(uncached)}`);
  engine.invalidate();
}
