import type { Kysely } from 'kysely';
import { repo, type DB } from '@wicket/db';
import {
  derivePolicyKey,
  normalizeCallerIp,
  replayDraft,
  type DecisionAgent,
  type EnginePolicy,
  type MatchedPolicy,
  type ReplayResult,
} from '@wicket/policy';
import type { Access } from './access.ts';
import { toAuditEntry, type AuditEntry } from './audit/audit-entry.ts';
import { parseInstant } from './audit/filter.ts';
import { precheckCall, type CallDecision, type DecisionService } from './decision.service.ts';
import { ValidationError } from './errors.ts';
import { assertUuid, compileCedar, preparePolicyInput, type PolicyInput } from './policies.service.ts';

/** Id a new (unsaved) draft policy carries in a simulation's matched policies. */
export const DRAFT_POLICY_ID = 'draft';
/** The member a simulation evaluates when it names none: no specific_members policy names it. */
export const ANY_MEMBER_ID = '00000000-0000-0000-0000-000000000000';
/** At most this many audit entries are replayed (the newest of the window). */
export const REPLAY_MAX_ENTRIES = 50_000;
/** At most this many changed entries are returned in full (newest first); `changed` counts them all. */
export const REPLAY_MAX_CHANGES = 500;
const DAY_MS = 86_400_000;

export interface SimulateCallInput {
  agentId: string;
  memberId?: string | null;
  service: string;
  tool: string;
  arguments?: unknown;
  /** Default: now. A Date, or an ISO date-time (no offset means UTC). */
  time?: Date | string | null;
  callerIp?: string | null;
  /** A draft policy: new, or replacing `replacesPolicyId`. */
  draft?: PolicyInput | null;
  replacesPolicyId?: string | null;
}

export interface SimulationResult extends CallDecision {
  /** Cedar text of every enabled policy (draft included) of the service, as evaluated. */
  cedar: string;
  time: Date;
  /** The draft as it took part: id (`draft` for a new one), key, name, version. */
  draft: MatchedPolicy | null;
}

export interface ReplayRequest {
  agentId: string;
  draft: PolicyInput;
  replacesPolicyId?: string | null;
  /** Default: 24 hours before `to`. */
  from?: Date | string | null;
  /** Default: now. */
  to?: Date | string | null;
}

export interface ReplayChangeView {
  entry: AuditEntry;
  recordedDecision: 'ALLOW' | 'DENY';
  baselineDecision: 'ALLOW' | 'DENY';
  draftDecision: 'ALLOW' | 'DENY';
}

export interface ReplaySummary extends Omit<ReplayResult, 'changes'> {
  from: Date;
  to: Date;
  /** The window held more than REPLAY_MAX_ENTRIES entries: only the newest were replayed. */
  truncated: boolean;
  /** The newest REPLAY_MAX_CHANGES changed entries. */
  changes: ReplayChangeView[];
}

function instant(value: Date | string | null | undefined, param: string, bound: 'from' | 'to'): Date | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new ValidationError(`${param} is not a valid date-time`, param);
    return value;
  }
  if (typeof value !== 'string') throw new ValidationError(`${param} must be an ISO 8601 date or date-time`, param);
  const parsed = parseInstant(value, param, bound);
  // A date-only `to` covers that whole day.
  return bound === 'to' ? new Date(parsed.exclusiveUntil.getTime() - 1) : parsed.at;
}

function cedarOf(policies: EnginePolicy[], service: string, namespace: string): string {
  const texts = policies
    .filter((p) => p.enabled && p.content.service === service)
    .map((p) => {
      try {
        return compileCedar({ id: p.id, key: p.key, content: p.content, namespace });
      } catch (e) {
        return `// ${p.key} (v${p.version}) could not be compiled and counts as a failing forbid: ${(e as Error).message}\n`;
      }
    });
  return texts.length ? texts.join('\n') : `// No enabled policy targets service "${service}".\n`;
}

/**
 * Simulate (spec §3): the proxy's decision for a hypothetical call, and the replay of a draft policy
 * against recorded traffic. Same engine and same pre-checks as the proxy; writes nothing. Owners only.
 */
export class SimulateService {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly decisions: DecisionService,
  ) {}

  async call(access: Access, input: SimulateCallInput): Promise<SimulationResult> {
    assertUuid(input.agentId, 'agentId');
    access.assertOwner(input.agentId, 'agent', input.agentId);
    const agent = await this.agent(input.agentId);

    if (typeof input.service !== 'string' || !input.service) throw new ValidationError('service is required', 'service');
    if (typeof input.tool !== 'string' || !input.tool.trim()) throw new ValidationError('tool is required', 'tool');
    const args = input.arguments ?? {};
    if (typeof args !== 'object' || Array.isArray(args)) throw new ValidationError('arguments must be a JSON object of tool arguments', 'arguments');
    const time = instant(input.time, 'time', 'from') ?? new Date();
    const callerIp = input.callerIp || null;
    if (callerIp && !normalizeCallerIp(callerIp)) throw new ValidationError('callerIp must be an IPv4 or IPv6 address', 'callerIp');

    let member: repo.MemberRow | undefined;
    if (input.memberId) {
      assertUuid(input.memberId, 'memberId');
      const found = await repo.findMemberById(this.db, input.memberId);
      if (!found || found.agent_id !== agent.id) throw new ValidationError(`memberId ${input.memberId} is not a member of this agent`, 'memberId');
      member = found;
    }
    const connector = await repo.findConnector(this.db, input.service);
    if (!connector) throw new ValidationError(`service "${input.service}" has no connector installed`, 'service');
    const namespace = connector.cedar_namespace;

    const agentPolicies = await this.decisions.loadAgentPolicies(agent.id);
    const draft = input.draft ? await this.draftPolicy(agent.id, input.draft, input.replacesPolicyId) : null;
    const policies = draft ? withDraft(agentPolicies.policies, draft) : agentPolicies.policies;

    const memberId = member?.id ?? ANY_MEMBER_ID;
    const enabledServices = await repo.listAgentServices(this.db, [agent.id]);
    const precheck = precheckCall({
      agent: { name: agent.name, status: agent.status },
      member: member ? { status: member.status } : null,
      service: input.service,
      namespace,
      tool: input.tool,
      memberId,
      serviceEnabled: enabledServices.some((s) => s.service === input.service),
    });
    const request = {
      agent: decisionAgent(agent),
      member: { id: memberId },
      service: input.service,
      namespace,
      tool: input.tool,
      arguments: args as Record<string, unknown>,
      time,
      callerIp,
    };
    const decision: CallDecision =
      precheck ?? (draft ? this.decisions.decideWith(agent.id, policies, request) : this.decisions.decide(agentPolicies, request));
    return {
      ...decision,
      cedar: cedarOf(policies, input.service, namespace),
      time,
      draft: draft ? { id: draft.id, key: draft.key, name: draft.name, version: draft.version, effect: draft.content.effect } : null,
    };
  }

  async replay(access: Access, input: ReplayRequest): Promise<ReplaySummary> {
    assertUuid(input.agentId, 'agentId');
    access.assertOwner(input.agentId, 'agent', input.agentId);
    const agent = await this.agent(input.agentId);
    if (!input.draft) throw new ValidationError('draft is required: the policy to replay', 'draft');
    const to = instant(input.to, 'to', 'to') ?? new Date();
    const from = instant(input.from, 'from', 'from') ?? new Date(to.getTime() - DAY_MS);
    if (from > to) throw new ValidationError('from must not be after to', 'from');
    const draft = await this.draftPolicy(agent.id, input.draft, input.replacesPolicyId);

    const [rows, connectors, agentPolicies] = await Promise.all([
      repo.listAuditEntriesForReplay(this.db, { agentId: agent.id, from, to, limit: REPLAY_MAX_ENTRIES + 1 }),
      repo.listConnectors(this.db),
      this.decisions.loadAgentPolicies(agent.id),
    ]);
    const truncated = rows.length > REPLAY_MAX_ENTRIES;
    const entries = rows.slice(0, REPLAY_MAX_ENTRIES).map((r) => ({
      id: r.id,
      decision: r.decision as 'ALLOW' | 'DENY',
      service: r.service,
      tool: r.tool,
      memberId: r.member_id,
      arguments: (typeof r.tool_args === 'string' ? JSON.parse(r.tool_args) : r.tool_args) as Record<string, unknown> | null,
      timestamp: r.timestamp,
      callerIp: r.caller_ip,
    }));
    const result = replayDraft({
      agent: decisionAgent(agent),
      policies: agentPolicies.policies,
      draft,
      entries,
      namespaces: Object.fromEntries(connectors.map((c) => [c.service, c.cedar_namespace])),
    });

    const shown = result.changes.slice(0, REPLAY_MAX_CHANGES);
    const fullRows = await repo.listAuditEntriesOfAgentByIds(
      this.db,
      agent.id,
      shown.map((c) => c.entryId),
    );
    const byId = new Map(fullRows.map((r) => [r.id, toAuditEntry(r, access)]));
    const changes = shown.flatMap((c) => {
      const entry = byId.get(c.entryId);
      return entry ? [{ entry, recordedDecision: c.recordedDecision, baselineDecision: c.baselineDecision, draftDecision: c.draftDecision }] : [];
    });
    return { ...result, changes, from, to, truncated };
  }

  private async agent(agentId: string): Promise<repo.AgentRow> {
    const agent = await repo.findAgentById(this.db, agentId);
    // Owned a moment ago (Access is loaded per request): gone only if deleted in between.
    if (!agent) throw new ValidationError(`agent ${agentId} no longer exists`, 'agentId');
    return agent;
  }

  /** The draft as the engine takes it: a new policy, or the next version of the policy it replaces. */
  private async draftPolicy(agentId: string, input: PolicyInput, replacesPolicyId: string | null | undefined): Promise<EnginePolicy> {
    let replaced: repo.PolicyWithContentRow | undefined;
    if (replacesPolicyId) {
      assertUuid(replacesPolicyId, 'replacesPolicyId');
      replaced = await repo.findPolicyById(this.db, replacesPolicyId);
      if (!replaced || replaced.agent_id !== agentId) throw new ValidationError(`replacesPolicyId ${replacesPolicyId} is not a policy of this agent`, 'replacesPolicyId');
    }
    const prepared = await preparePolicyInput(this.db, agentId, input, 'draft.');
    const content = prepared.content;
    return {
      id: replaced?.id ?? DRAFT_POLICY_ID,
      key: replaced?.key ?? prepared.key ?? derivePolicyKey(content.name),
      name: content.name,
      version: replaced ? replaced.current_version + 1 : 1,
      // A draft is simulated in force unless it says enabled: false (which simulates disabling it).
      enabled: prepared.enabled ?? true,
      content,
    };
  }
}

function decisionAgent(agent: repo.AgentRow): DecisionAgent {
  return { id: agent.id, trustMode: agent.trust_mode as DecisionAgent['trustMode'], timezone: agent.timezone };
}

function withDraft(policies: EnginePolicy[], draft: EnginePolicy): EnginePolicy[] {
  return policies.some((p) => p.id === draft.id) ? policies.map((p) => (p.id === draft.id ? draft : p)) : [...policies, draft];
}
