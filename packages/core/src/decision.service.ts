import type { Kysely } from 'kysely';
import { repo, type DB } from '@wicket/db';
import {
  actionUid,
  memberUid,
  PolicyEngine,
  serviceUid,
  type AgentPolicies,
  type Decision,
  type DecisionRequest,
  type DecisionRule,
  type EnginePolicy,
  type PolicyContent,
} from '@wicket/policy';

/** Spec §4 checks that deny a call before any policy is evaluated, in the proxy's order. */
export type PrecheckRule = 'agent_disabled' | 'member_not_approved' | 'service_not_enabled';

/** A decision as the proxy (and simulate) reports it: the engine's, or a pre-check's. */
export interface CallDecision extends Omit<Decision, 'rule'> {
  rule: DecisionRule | PrecheckRule;
}

export interface PrecheckInput {
  agent: { name: string; status: string };
  /** Absent in a simulation that names no member: that check is then skipped. */
  member?: { status: string } | null;
  service: string;
  /** Cedar namespace of the service's connector (for the action/principal/resource texts). */
  namespace: string;
  tool: string;
  memberId: string;
  serviceEnabled: boolean;
}

/**
 * The spec §4 pre-checks a real call meets before policies: agent active, member approved, service
 * enabled on the agent (in that order). Returns the DENY to record, or null when policies decide.
 * The proxy and simulate both use this, so a simulation says what the proxy would do, in the same words.
 */
export function precheckCall(input: PrecheckInput): CallDecision | null {
  let rule: PrecheckRule | null = null;
  let reason = '';
  if (input.agent.status !== 'active') {
    rule = 'agent_disabled';
    reason = `Denied: agent "${input.agent.name}" is disabled.`;
  } else if (input.member && input.member.status !== 'approved') {
    rule = 'member_not_approved';
    reason = input.member.status === 'pending' ? 'Denied: the member is pending approval by an owner of the agent.' : `Denied: the member is ${input.member.status}, not approved.`;
  } else if (!input.serviceEnabled) {
    rule = 'service_not_enabled';
    reason = `Denied: service "${input.service}" is not enabled on agent "${input.agent.name}".`;
  }
  if (!rule) return null;
  return {
    decision: 'DENY',
    rule,
    reason,
    matched: [],
    deciding: null,
    action: actionUid(input.namespace, input.tool),
    principal: memberUid(input.namespace, input.memberId),
    resource: serviceUid(input.namespace, input.service),
  };
}

function toEnginePolicy(row: repo.PolicyWithContentRow): EnginePolicy {
  return { id: row.id, key: row.key, name: row.name, version: row.current_version, enabled: row.enabled, content: row.content as unknown as PolicyContent };
}

/**
 * Policy decisions for the proxy and for simulate, on one shared PolicyEngine (the engine keeps
 * pre-parsed Cedar sets per agent until the agent's revision changes).
 *
 * For the proxy, per `tools/call`, after the spec §4 pre-checks (`precheckCall`):
 *
 *   const policies = await core.decisions.loadAgentPolicies(agent.id, caller.policyRevision); // no query when unchanged
 *   const decision = core.decisions.decide(policies, { agent, member, service, namespace, tool, arguments, time, callerIp });
 *
 * The agent's policy revision is a counter in the agents row that a trigger raises in the same
 * transaction as any change to the agent's policies. The proxy reads it with the caller's key (one
 * lookup per call) and passes it in; other callers let `loadAgentPolicies` read it. The policies are
 * reloaded only when it changed, so a toggle or save on any server instance applies to the very next
 * call, with no event to miss. The answer holds only enabled policies.
 */
export class DecisionService {
  private readonly cache = new Map<string, AgentPolicies>();
  private scratchCounter = 0;

  constructor(
    private readonly db: Kysely<DB>,
    readonly engine: PolicyEngine = new PolicyEngine(),
    private readonly maxAgents = 1000,
  ) {}

  /**
   * The agent's enabled policies at their current versions, with the revision they were read at.
   * `revision`: the agent's policy revision, when the caller has just read it (the proxy reads it with
   * the member key); otherwise it is read here.
   */
  async loadAgentPolicies(agentId: string, revision?: string): Promise<AgentPolicies> {
    // Revision first, then the rows: a change in between pairs an old revision with newer rows, which
    // the next call's revision read corrects. The other order could keep stale rows under a new revision.
    revision ??= await repo.findPolicyRevision(this.db, agentId);
    const cached = this.cache.get(agentId);
    // An older revision than the cached one (a caller read before a change, from the proxy's caller
    // cache): the newer set serves; that call's guarded entry fails on the revision and it is decided
    // again. Reloading would pair the current rows with the old number and evict the newer set.
    if (cached && (cached.revision === revision || olderRevision(revision, cached.revision))) {
      this.cache.delete(agentId);
      this.cache.set(agentId, cached);
      return cached;
    }
    const rows = await repo.listEnabledPoliciesOfAgent(this.db, agentId);
    const loaded: AgentPolicies = { agentId, revision, policies: rows.map(toEnginePolicy) };
    this.cache.delete(agentId);
    this.cache.set(agentId, loaded);
    while (this.cache.size > this.maxAgents) this.cache.delete(this.cache.keys().next().value!);
    return loaded;
  }

  /** Spec §3 for one call, with the agent's policies from `loadAgentPolicies`. */
  decide(agentPolicies: AgentPolicies, request: DecisionRequest): Decision {
    return this.engine.decide(agentPolicies, request);
  }

  /**
   * A decision over a one-off policy set (simulate with a draft): same engine, under a key of its own
   * that is dropped afterwards, so the agent's cached sets the proxy uses stay as they are.
   */
  decideWith(agentId: string, policies: EnginePolicy[], request: DecisionRequest): Decision {
    const scratch: AgentPolicies = { agentId: `${agentId}#simulation-${++this.scratchCounter}`, revision: 'simulation', policies };
    try {
      return this.engine.decide(scratch, request);
    } finally {
      this.engine.invalidate(scratch.agentId);
    }
  }
}

/** Whether revision counter `a` (decimal text) is below `b`. */
function olderRevision(a: string, b: string): boolean {
  if (!/^\d+$/.test(a) || !/^\d+$/.test(b)) return false;
  return a.length < b.length || (a.length === b.length && a < b);
}
