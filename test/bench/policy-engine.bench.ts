/**
 * Policy engine latency: µs per decision (p50/p95) with 10, 100 and 1,000 policies on the agent,
 * through the engine's cache of pre-parsed per-(service, tool) sets, and, for comparison, parsing
 * the agent's whole policy set on every call (plain `isAuthorized`).
 *
 *   npx tsx test/bench/policy-engine.bench.ts
 */
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { compilePolicyToCedar, PolicyEngine, type DecisionRequest, type EnginePolicy, type PolicyContent } from '../../packages/policy/src/index.ts';

const SERVICES = ['github', 'slack', 'linear', 'jira', 'notion'];
const TOOLS = Array.from({ length: 40 }, (_, i) => `tool_${i}`);
const ITERATIONS = 2000;

function makePolicies(count: number): EnginePolicy[] {
  return Array.from({ length: count }, (_, i) => {
    const service = SERVICES[i % SERVICES.length];
    const content: PolicyContent = {
      name: `Policy ${i}`,
      service,
      effect: i % 4 === 0 ? 'forbid' : 'permit',
      // A tenth of the policies cover every tool of their service; the rest name one to three tools.
      tools: i % 10 === 0 ? [] : TOOLS.slice(i % 37, (i % 37) + 1 + (i % 3)),
      principal: i % 3 === 0 ? { type: 'specific_members', memberIds: [`member-${i % 7}`, `member-${(i + 1) % 7}`] } : { type: 'all_members' },
      timeWindow: i % 5 === 0 ? { daysOfWeek: [1, 2, 3, 4, 5], hoursFrom: 9, hoursTo: 17 } : null,
      callerIps: i % 6 === 0 ? ['10.0.0.0/8', '2001:db8::/32'] : undefined,
      conditions: i % 8 === 0 ? [{ key: 'repo', op: 'startsWith', value: 'acme/' }] : undefined,
      denyMessage: i % 4 === 0 ? `Blocked by rule ${i}` : null,
    };
    return { id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, key: `policy-${i}`, name: content.name, version: 1, enabled: true, content };
  });
}

function request(i: number): DecisionRequest {
  return {
    agent: { id: 'agent-1', trustMode: 'untrusted', timezone: 'America/New_York' },
    member: { id: `member-${i % 7}` },
    service: 'github',
    namespace: 'GitHubMCP',
    tool: TOOLS[i % TOOLS.length],
    arguments: { repo: i % 2 ? 'acme/web' : 'other/x', title: 'hello', body: 'x'.repeat(200) },
    time: new Date(Date.UTC(2026, 4, 4, 12, i % 60)),
    callerIp: '10.1.2.3',
  };
}

function percentiles(samples: number[]): { p50: number; p95: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: sorted[Math.floor(sorted.length * 0.5)], p95: sorted[Math.floor(sorted.length * 0.95)] };
}

function format(n: number): string {
  return n.toFixed(1).padStart(8);
}

console.log(`${ITERATIONS} decisions each, µs per decision`);
console.log('policies  mode                      p50       p95');
for (const count of [10, 100, 1000]) {
  const policies = makePolicies(count);
  const agentPolicies = { agentId: 'agent-1', revision: 'r1', policies };

  const engine = new PolicyEngine();
  const started = performance.now();
  for (let i = 0; i < TOOLS.length; i++) engine.decide(agentPolicies, request(i));
  const warmMs = performance.now() - started;
  const cached: number[] = [];
  for (let i = 0; i < ITERATIONS; i++) {
    const t0 = performance.now();
    engine.decide(agentPolicies, request(i));
    cached.push((performance.now() - t0) * 1000);
  }
  const c = percentiles(cached);
  console.log(`${String(count).padStart(8)}  engine, cached sets    ${format(c.p50)}  ${format(c.p95)}   (first call per tool included in ${warmMs.toFixed(1)} ms warm-up)`);

  const texts = Object.fromEntries(policies.map((p) => [p.id, compilePolicyToCedar({ id: p.id, key: p.key, content: p.content, namespace: 'GitHubMCP' })]));
  const uncached: number[] = [];
  const n = count >= 1000 ? 200 : ITERATIONS;
  for (let i = 0; i < n; i++) {
    const req = request(i);
    const t0 = performance.now();
    cedar.isAuthorized({
      principal: { type: 'GitHubMCP::Member', id: req.member.id },
      action: { type: 'GitHubMCP::Action', id: req.tool },
      resource: { type: 'GitHubMCP::Service', id: 'github' },
      context: { args: { repo: String(req.arguments.repo) } },
      policies: { staticPolicies: texts },
      entities: [],
    });
    uncached.push((performance.now() - t0) * 1000);
  }
  const u = percentiles(uncached);
  console.log(`${String(count).padStart(8)}  parse every call       ${format(u.p50)}  ${format(u.p95)}`);
  engine.invalidate();
}
