import type { DecisionRequest, EnginePolicy } from './engine.ts';
import type { PolicyContent } from './content.ts';

/** Builders for the package's own tests. */
let counter = 0;

export const MEMBER_A = '11111111-1111-4111-8111-111111111111';
export const MEMBER_B = '22222222-2222-4222-8222-222222222222';

export function makePolicy(content: Partial<PolicyContent> = {}, overrides: Partial<Omit<EnginePolicy, 'content'>> = {}): EnginePolicy {
  const n = ++counter;
  const full: PolicyContent = {
    name: `Policy ${n}`,
    service: 'github',
    effect: 'permit',
    tools: [],
    principal: { type: 'all_members' },
    ...content,
  };
  return {
    id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    key: `policy-${n}`,
    name: full.name,
    version: 1,
    enabled: true,
    ...overrides,
    content: full,
  };
}

export function makeRequest(overrides: Partial<DecisionRequest> = {}): DecisionRequest {
  return {
    agent: { id: 'agent-1', trustMode: 'untrusted', timezone: 'UTC' },
    member: { id: MEMBER_A },
    service: 'github',
    namespace: 'GitHubMCP',
    tool: 'create_issue',
    arguments: {},
    // A Monday, 12:00 UTC.
    time: new Date('2026-05-04T12:00:00Z'),
    callerIp: '10.1.2.3',
    ...overrides,
  };
}

let revision = 0;

/** A fresh revision each call, as the caller must give whenever the agent's policies change. */
export function agentPolicies(policies: EnginePolicy[], agentId = 'agent-1') {
  return { agentId, revision: `rev-${++revision}`, policies };
}
