import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { compilePolicyToCedar, isValidNamespace, actionUid, memberUid, serviceUid } from './cedar-text.ts';
import { parsePolicyContent, type Effect, type PolicyContent } from './content.ts';
import { normalizeCallerIp } from './ip.ts';
import { localTimeIn } from './local-time.ts';
import { CedarSetRegistry, type CedarSet, type Compiled } from './cedar-sets.ts';

export interface EnginePolicy {
  id: string;
  key: string;
  name: string;
  version: number;
  enabled: boolean;
  content: PolicyContent;
}

export interface AgentPolicies {
  agentId: string;
  /** Must change whenever any policy of the agent changes (content, version, enabled, added, removed). */
  revision: string;
  policies: EnginePolicy[];
}

export interface DecisionAgent {
  id: string;
  trustMode: 'trusted' | 'untrusted';
  /** IANA timezone used by time windows. */
  timezone: string;
}

export interface DecisionRequest {
  agent: DecisionAgent;
  member: { id: string };
  service: string;
  /** Cedar namespace of the service's connector, e.g. GitHubMCP. */
  namespace: string;
  tool: string;
  arguments: Record<string, unknown>;
  time: Date;
  callerIp?: string | null;
}

export interface MatchedPolicy {
  id: string;
  key: string;
  name: string;
  version: number;
  effect: Effect;
}

/**
 * Which rule of spec §3 decided: a matching forbid, a matching permit, no policy for the service
 * (default allow for a trusted agent, fail closed for an untrusted one), policies but no permit, or a
 * request that could not be evaluated at all (always a DENY).
 */
export type DecisionRule = 'forbid' | 'permit' | 'default_allow' | 'fail_closed' | 'no_permit' | 'evaluation_error';

export interface Decision {
  decision: 'ALLOW' | 'DENY';
  reason: string;
  rule: DecisionRule;
  /** Every matching policy, permit and forbid, in the order the agent's policies were given. */
  matched: MatchedPolicy[];
  deciding: MatchedPolicy | null;
  /** Cedar uids as text, e.g. GitHubMCP::Action::"delete_file". */
  action: string;
  principal: string;
  resource: string;
  evaluationMicros?: number;
  /** Policies that could not be compiled or evaluated; a forbid among them counts as matching. */
  errors?: { policyId: string; message: string }[];
}

interface SlicePolicy {
  policy: EnginePolicy;
  order: number;
  /** Anything that is not clearly a permit counts as a forbid, so a broken policy fails closed. */
  effect: Effect;
  /** Scope as far as it can be read (an invalid policy covers every tool and member). */
  tools: string[];
  members: string[] | null;
  matched: MatchedPolicy;
  compiled: Compiled | null;
}

interface Slice {
  set: CedarSet;
  /** The agent's policies in the set, by id. */
  policies: Map<string, SlicePolicy>;
  /**
   * Cedar's answer per tool and member, for a set whose policies read no context (no argument, time or
   * IP condition): the request is then the same for every call of that member and tool (principal,
   * action, this service, no entities), and so is Cedar's answer. Dropped with the slice when the
   * agent's policies change.
   */
  answers?: Map<string, CedarAnswer>;
}

/** What one Cedar evaluation contributes to an Outcome. */
interface CedarAnswer {
  hits: SlicePolicy[];
  errors: { policyId: string; message: string }[];
  failed: SlicePolicy[];
}

/** (tool, member) answers one slice keeps (more are evaluated each time). */
const MAX_ANSWERS_PER_SLICE = 10_000;

/** The slices of one tool (null: every tool no policy names, which only wildcard policies cover). */
interface ToolSlices {
  /** The service's policies whose tool list covers the tool. */
  candidates: SlicePolicy[];
  /** Whether slices are cut per member too (worth it only with many member-specific policies). */
  byMember: boolean;
  namedMembers: Set<string>;
  /** By member id; null for members no candidate names, or for everyone when not cut per member. */
  slices: Map<string | null, Slice>;
}

interface ServiceGroup {
  policies: SlicePolicy[];
  namedTools: Set<string>;
  namespace: string | null;
  tools: Map<string | null, ToolSlices>;
}

interface AgentCache {
  revision: string;
  services: Map<string, ServiceGroup>;
  /**
   * The revision before, kept until the next change so that slices rebuilt lazily for this revision can
   * share its pre-parsed sets where their policies did not change.
   */
  previous: AgentCache | null;
}

const COMPILED_CACHE_MAX = 20_000;
/**
 * Cutting a tool's slice per member saves Cedar about 3 µs per member-specific policy of other members,
 * but every policy covering all members is then parsed and held once per named member (about 100 µs and
 * 3 KB each): only worth it when many member-specific policies name the tool.
 */
const MEMBER_SPLIT_MIN = 16;
let compiledSerial = 0;

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

function slicePolicy(policy: EnginePolicy, order: number): SlicePolicy {
  const content = policy.content as Partial<PolicyContent> | undefined;
  const effect: Effect = content?.effect === 'permit' ? 'permit' : 'forbid';
  const principal = content?.principal as { type?: unknown; memberIds?: unknown } | undefined;
  const members = principal?.type === 'specific_members' && isStringList(principal.memberIds) && principal.memberIds.length ? principal.memberIds : null;
  return {
    policy,
    order,
    effect,
    tools: isStringList(content?.tools) ? content.tools : [],
    members,
    matched: { id: policy.id, key: policy.key, name: policy.name, version: policy.version, effect },
    compiled: null,
  };
}

type DecisionBase = Pick<Decision, 'action' | 'principal' | 'resource' | 'matched' | 'deciding'>;

interface Outcome {
  hits: SlicePolicy[];
  /** Forbids that could not be compiled or evaluated: they count as matching. */
  failed: Set<SlicePolicy>;
  errors: { policyId: string; message: string }[];
}

function describe(p: MatchedPolicy): string {
  return `"${p.name}" (${p.key}, v${p.version})`;
}

/** Top-level arguments as Cedar strings: text as is, numbers and booleans as text, anything else absent. */
export function argumentAsText(args: Record<string, unknown> | null | undefined, key: string): string | undefined {
  if (!args || !Object.hasOwn(args, key)) return undefined;
  const value = args[key];
  if (typeof value === 'string') return value;
  if ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'boolean') return String(value);
  return undefined;
}

export interface PolicyEngineOptions {
  /** Agents whose pre-parsed sets are kept; the least recently used beyond this are dropped. */
  maxAgents?: number;
}

/**
 * Decides tool calls with Cedar. Per agent it keeps, until the agent's revision changes, the enabled
 * policies grouped by service, and per (service, tool) a pre-parsed Cedar set holding only the policies
 * whose scope can match: those naming the tool or covering every tool (cut per member as well when many
 * policies name members). Cedar's cost grows with the size of the set it is given (1.5 to 4 µs per
 * policy in wasm), so a decision costs about the same with 100 or 1,000 policies on the agent.
 */
export class PolicyEngine {
  private readonly agents = new Map<string, AgentCache>();
  private readonly compiled = new Map<string, Compiled>();
  private readonly sets = new CedarSetRegistry();
  private readonly maxAgents: number;
  /** Cedar evaluations made, and decisions that reused a context-free slice's answer (tests, benchmarks). */
  readonly stats = { cedarEvaluations: 0, reusedAnswers: 0 };

  constructor(options: PolicyEngineOptions = {}) {
    this.maxAgents = options.maxAgents ?? 1000;
  }

  decide(agentPolicies: AgentPolicies, req: DecisionRequest): Decision {
    const started = performance.now();
    const decision = this.evaluate(agentPolicies, req);
    decision.evaluationMicros = Math.round((performance.now() - started) * 1000);
    return decision;
  }

  /** Drops the cached sets of one agent, or of every agent. */
  invalidate(agentId?: string): void {
    if (agentId === undefined) {
      for (const cache of this.agents.values()) this.release(cache);
      this.agents.clear();
      this.compiled.clear();
      return;
    }
    const cache = this.agents.get(agentId);
    if (cache) this.release(cache);
    this.agents.delete(agentId);
  }

  private evaluate(agentPolicies: AgentPolicies, req: DecisionRequest): Decision {
    const ns = req.namespace;
    const base: DecisionBase = {
      action: actionUid(ns, req.tool),
      principal: memberUid(ns, req.member.id),
      resource: serviceUid(ns, req.service),
      matched: [],
      deciding: null,
    };
    const group = this.agentCache(agentPolicies).services.get(req.service);

    if (!group) {
      return req.agent.trustMode === 'trusted'
        ? { ...base, decision: 'ALLOW', rule: 'default_allow', reason: `Allowed by default: no enabled policy targets service "${req.service}" and the agent is trusted.` }
        : { ...base, decision: 'DENY', rule: 'fail_closed', reason: `Denied (fail closed): no enabled policy targets service "${req.service}" and the agent is untrusted.` };
    }
    if (!isValidNamespace(ns)) {
      return unevaluable(base, [], `"${ns}" is not a valid Cedar namespace for service "${req.service}"`);
    }

    const slice = this.slice(group, ns, req.tool, req.member.id);
    const outcome: Outcome = { hits: [], failed: new Set(), errors: [] };
    for (const [policyId, message] of slice.set.broken) {
      outcome.errors.push({ policyId, message });
      const policy = slice.policies.get(policyId)!;
      if (policy.effect === 'forbid') outcome.failed.add(policy);
    }
    if (slice.set.id) {
      const failure = this.runCedar(slice, req, outcome);
      if (failure) return unevaluable(base, outcome.errors, failure);
    }
    return decisionFrom(base, req, outcome);
  }

  /** Evaluates the slice's set into `outcome`, or answers why Cedar could not evaluate the request. */
  private runCedar(slice: Slice, req: DecisionRequest, outcome: Outcome): string | null {
    const contextFree = !slice.set.args.length && !slice.set.needsTime && !slice.set.needsIp;
    // By tool too: the slice of tools no policy names serves every such tool.
    const answerKey = `${req.tool}\n${req.member.id}`;
    const known = contextFree ? slice.answers?.get(answerKey) : undefined;
    if (known) this.stats.reusedAnswers++;
    const result = known ?? this.askCedar(slice, req);
    if (typeof result === 'string') return result;
    outcome.hits.push(...result.hits);
    outcome.errors.push(...result.errors);
    for (const policy of result.failed) outcome.failed.add(policy);
    if (contextFree && !known) {
      slice.answers ??= new Map();
      if (slice.answers.size < MAX_ANSWERS_PER_SLICE) slice.answers.set(answerKey, result);
    }
    return null;
  }

  /** Cedar's answer for the slice's set, or why Cedar could not evaluate the request. */
  private askCedar(slice: Slice, req: DecisionRequest): CedarAnswer | string {
    const ns = req.namespace;
    this.stats.cedarEvaluations++;
    // Every policy is held as a permit (see matchingText), so Cedar reports each satisfied one.
    const answer = cedar.statefulIsAuthorized({
      principal: { type: `${ns}::Member`, id: req.member.id },
      action: { type: `${ns}::Action`, id: req.tool },
      resource: { type: `${ns}::Service`, id: req.service },
      context: requestContext(slice.set, req),
      entities: [],
      preparsedPolicySetId: slice.set.id!,
    });
    if (answer.type === 'failure') return answer.errors.map((e) => e.message).join('; ');
    const result: CedarAnswer = { hits: [], errors: [], failed: [] };
    for (const id of answer.response.diagnostics.reason) {
      const hit = slice.policies.get(id);
      if (hit) result.hits.push(hit);
    }
    // Cedar skips a policy whose condition fails to evaluate; a forbid must not fail open that way.
    for (const { policyId, error } of answer.response.diagnostics.errors) {
      result.errors.push({ policyId, message: error.message });
      const hit = slice.policies.get(policyId);
      if (hit?.effect === 'forbid') result.failed.push(hit);
    }
    return result;
  }

  private agentCache(agentPolicies: AgentPolicies): AgentCache {
    const { agentId, revision } = agentPolicies;
    let cache = this.agents.get(agentId);
    if (cache && cache.revision === revision) {
      // Least recently used first: a Map iterates in insertion order.
      this.agents.delete(agentId);
      this.agents.set(agentId, cache);
      return cache;
    }
    this.agents.delete(agentId);
    if (cache?.previous) {
      this.release(cache.previous);
      cache.previous = null;
    }

    const services = new Map<string, ServiceGroup>();
    agentPolicies.policies.forEach((policy, order) => {
      const service = policy.content?.service;
      if (!policy.enabled || typeof service !== 'string') return;
      let group = services.get(service);
      if (!group) {
        group = { policies: [], namedTools: new Set(), namespace: null, tools: new Map() };
        services.set(service, group);
      }
      const entry = slicePolicy(policy, order);
      for (const tool of entry.tools) group.namedTools.add(tool);
      group.policies.push(entry);
    });
    cache = { revision, services, previous: cache ?? null };
    this.agents.set(agentId, cache);
    while (this.agents.size > this.maxAgents) {
      const [oldestId, oldest] = this.agents.entries().next().value!;
      this.release(oldest);
      this.agents.delete(oldestId);
    }
    return cache;
  }

  private slice(group: ServiceGroup, namespace: string, tool: string, memberId: string): Slice {
    if (group.namespace !== namespace) {
      this.releaseSlices(group);
      group.namespace = namespace;
      for (const entry of group.policies) entry.compiled = null;
    }
    const toolKey = group.namedTools.has(tool) ? tool : null;
    let forTool = group.tools.get(toolKey);
    if (!forTool) {
      const seen = new Set<string>();
      const candidates = group.policies.filter((entry) => {
        // Ids name policies inside a Cedar set: the first of two policies sharing an id wins.
        if (seen.has(entry.policy.id) || (entry.tools.length && !entry.tools.includes(tool))) return false;
        seen.add(entry.policy.id);
        return true;
      });
      const namedMembers = new Set(candidates.flatMap((entry) => entry.members ?? []));
      const byMember = candidates.filter((entry) => entry.members).length >= MEMBER_SPLIT_MIN;
      forTool = { candidates, byMember, namedMembers, slices: new Map() };
      group.tools.set(toolKey, forTool);
    }
    const memberKey = forTool.byMember && forTool.namedMembers.has(memberId) ? memberId : null;
    let slice = forTool.slices.get(memberKey);
    if (!slice) {
      const members = forTool.byMember ? forTool.candidates.filter((entry) => !entry.members || entry.members.includes(memberId)) : forTool.candidates;
      const policies = new Map<string, SlicePolicy>();
      for (const entry of members) {
        entry.compiled ??= this.compile(entry.policy, namespace);
        policies.set(entry.policy.id, entry);
      }
      const set = this.sets.acquire(members.map((entry) => ({ id: entry.policy.id, compiled: entry.compiled! })));
      slice = { set, policies };
      forTool.slices.set(memberKey, slice);
    }
    return slice;
  }

  private compile(policy: EnginePolicy, namespace: string): Compiled {
    const cacheKey = JSON.stringify([namespace, policy.id, policy.key, policy.content]);
    let compiled = this.compiled.get(cacheKey);
    if (compiled) return compiled;
    const serial = ++compiledSerial;
    const parsed = parsePolicyContent(policy.content);
    if (!parsed.ok) {
      compiled = { serial, text: null, content: null, error: `invalid content: ${parsed.issues.map((i) => `${i.field} ${i.message}`).join('; ')}` };
    } else {
      try {
        compiled = { serial, text: compilePolicyToCedar({ id: policy.id, key: policy.key, content: parsed.value, namespace }), content: parsed.value, error: null };
      } catch (error) {
        compiled = { serial, text: null, content: null, error: error instanceof Error ? error.message : String(error) };
      }
    }
    if (this.compiled.size >= COMPILED_CACHE_MAX) this.compiled.clear();
    this.compiled.set(cacheKey, compiled);
    return compiled;
  }

  private releaseSlices(group: ServiceGroup): void {
    for (const forTool of group.tools.values()) {
      for (const slice of forTool.slices.values()) this.sets.release(slice.set);
    }
    group.tools.clear();
  }

  private release(cache: AgentCache): void {
    for (const group of cache.services.values()) this.releaseSlices(group);
    if (cache.previous) this.release(cache.previous);
    cache.previous = null;
  }
}

/**
 * The Cedar context, holding only what the set's policies read (each attribute costs Cedar several µs
 * to take in). An unknown local time or caller IP is left out: the guards in the text then fail closed.
 */
function requestContext(set: CedarSet, req: DecisionRequest): cedar.Context {
  const context: cedar.Context = {};
  if (set.args.length) {
    const entries: [string, string][] = [];
    for (const key of set.args) {
      const value = argumentAsText(req.arguments, key);
      if (value !== undefined) entries.push([key, value]);
    }
    // fromEntries defines own properties, so a key such as "__proto__" stays an ordinary key.
    context.args = Object.fromEntries(entries);
  }
  if (set.needsTime) {
    const local = localTimeIn(req.time, req.agent.timezone);
    if (local) {
      context.localDay = local.dayOfWeek;
      context.localHour = local.hour;
      context.localDate = local.dateNumber;
    }
  }
  if (set.needsIp) {
    const ip = normalizeCallerIp(req.callerIp);
    // Text read with ip() in the policy: an ipaddr value in the context costs more to convert.
    if (ip) context.callerIp = ip;
  }
  return context;
}

function unevaluable(base: DecisionBase, errors: Outcome['errors'], message: string): Decision {
  return {
    ...base,
    decision: 'DENY',
    rule: 'evaluation_error',
    reason: `Denied (fail closed): the request could not be evaluated (${message}).`,
    errors: [...errors, { policyId: '', message }],
  };
}

/** Spec §3 rules 1, 2 and 4 over the policies that matched (rule 3 is decided before Cedar runs). */
function decisionFrom(base: DecisionBase, req: DecisionRequest, { hits, failed, errors }: Outcome): Decision {
  const all = [...new Set([...hits, ...failed])].sort((a, b) => a.order - b.order);
  const matched = all.map((h) => h.matched);
  const withErrors = errors.length ? { errors } : {};
  // A forbid that matched cleanly decides before one that only counts because it failed to evaluate.
  const forbid = all.find((h) => h.effect === 'forbid' && !failed.has(h)) ?? all.find((h) => h.effect === 'forbid');
  if (forbid) {
    const denyMessage = forbid.compiled?.content?.denyMessage;
    const reason = failed.has(forbid)
      ? `Denied (fail closed): forbid policy ${describe(forbid.matched)} could not be evaluated.`
      : (denyMessage ?? `Denied by forbid policy ${describe(forbid.matched)}.`);
    return { ...base, ...withErrors, decision: 'DENY', rule: 'forbid', reason, matched, deciding: forbid.matched };
  }
  const permit = all.find((h) => h.effect === 'permit');
  if (permit) {
    return { ...base, ...withErrors, decision: 'ALLOW', rule: 'permit', reason: `Allowed by policy ${describe(permit.matched)}.`, matched, deciding: permit.matched };
  }
  return {
    ...base,
    ...withErrors,
    decision: 'DENY',
    rule: 'no_permit',
    reason: `Denied: policies exist for service "${req.service}" but none permits this call to "${req.tool}".`,
    matched,
  };
}
