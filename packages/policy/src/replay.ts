import { isValidNamespace, PolicyCompileError } from './cedar-text.ts';
import { parsePolicyContent, toolArgumentsNeeded, type PolicyContent } from './content.ts';
import { argumentAsText, PolicyEngine, type DecisionAgent, type EnginePolicy } from './engine.ts';
import { normalizeCallerIp } from './ip.ts';

export const REDACTED = '[REDACTED]';

/** An audit entry as replay needs it; `arguments` are the redacted arguments as stored. */
export interface ReplayEntry {
  id: string;
  decision: 'ALLOW' | 'DENY';
  service: string;
  tool: string;
  memberId: string | null;
  arguments: Record<string, unknown> | null;
  timestamp: Date | string;
  callerIp?: string | null;
}

export interface ReplayChange {
  entryId: string;
  recordedDecision: 'ALLOW' | 'DENY';
  baselineDecision: 'ALLOW' | 'DENY';
  draftDecision: 'ALLOW' | 'DENY';
}

export interface ReplayInput {
  agent: DecisionAgent;
  /** The agent's current policies. */
  policies: EnginePolicy[];
  /** A new policy, or one replacing the current policy with the same id. */
  draft: EnginePolicy;
  entries: ReplayEntry[];
  /** Cedar namespace per service; a service left out gets a derived one (the decision does not depend on it). */
  namespaces?: Record<string, string>;
}

export interface ReplayResult {
  total: number;
  /** Before: as recorded in the audit log. */
  beforeAllowed: number;
  beforeDenied: number;
  /** After: re-evaluated with the draft applied. */
  afterAllowed: number;
  afterDenied: number;
  /** Entries whose decision with the draft differs from their decision with the current policies. */
  changed: number;
  /** Entries in the draft's scope that lack what its conditions need (redacted or absent argument, unknown caller IP). */
  unmatched: number;
  changes: ReplayChange[];
  unmatchedEntryIds: string[];
}

function namespaceFor(service: string, namespaces: Record<string, string> | undefined): string {
  const given = namespaces?.[service];
  if (given && isValidNamespace(given)) return given;
  return `Svc_${service.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

/**
 * Whether the draft would look at this entry (service, tool, member) but the entry lacks data the draft's
 * conditions read. Such an entry is still evaluated as stored; it is only counted.
 */
function lacksWhatDraftNeeds(content: PolicyContent, entry: ReplayEntry): boolean {
  if (content.service !== entry.service) return false;
  if (content.tools.length && !content.tools.includes(entry.tool)) return false;
  if (content.principal.type === 'specific_members' && !content.principal.memberIds.includes(entry.memberId ?? '')) return false;
  for (const key of toolArgumentsNeeded(content)) {
    const value = argumentAsText(entry.arguments, key);
    if (value === undefined || value === REDACTED) return true;
  }
  return !!content.callerIps?.length && normalizeCallerIp(entry.callerIp) === null;
}

/**
 * Replays audit entries against the current policies (baseline) and against the policies with the draft
 * applied, with the same engine the proxy uses. Pure: the caller loads the entries and the policies.
 */
export function replayDraft(input: ReplayInput): ReplayResult {
  const { agent, policies, draft, entries, namespaces } = input;
  const parsed = parsePolicyContent(draft.content);
  if (!parsed.ok) {
    throw new PolicyCompileError(`the draft policy has invalid content: ${parsed.issues.map((i) => `${i.field} ${i.message}`).join('; ')}`, parsed.issues);
  }
  const draftContent = parsed.value;
  const replaced = policies.find((p) => p.id === draft.id);
  const withDraft = replaced ? policies.map((p) => (p.id === draft.id ? draft : p)) : [...policies, draft];
  // Only the services of the draft and of the policy it replaces can decide differently.
  const affected = new Set([draft.content.service, replaced?.content.service]);

  const engine = new PolicyEngine({ maxAgents: 2 });
  const baselineSet = { agentId: `${agent.id}:baseline`, revision: 'baseline', policies };
  const draftSet = { agentId: `${agent.id}:draft`, revision: 'draft', policies: withDraft };
  const result: ReplayResult = {
    total: entries.length,
    beforeAllowed: 0,
    beforeDenied: 0,
    afterAllowed: 0,
    afterDenied: 0,
    changed: 0,
    unmatched: 0,
    changes: [],
    unmatchedEntryIds: [],
  };
  try {
    for (const entry of entries) {
      const request = {
        agent,
        member: { id: entry.memberId ?? '' },
        service: entry.service,
        namespace: namespaceFor(entry.service, namespaces),
        tool: entry.tool,
        arguments: entry.arguments ?? {},
        time: new Date(entry.timestamp),
        callerIp: entry.callerIp ?? null,
      };
      const baselineDecision = engine.decide(baselineSet, request).decision;
      const draftDecision = affected.has(entry.service) ? engine.decide(draftSet, request).decision : baselineDecision;

      if (entry.decision === 'ALLOW') result.beforeAllowed++;
      else result.beforeDenied++;
      if (draftDecision === 'ALLOW') result.afterAllowed++;
      else result.afterDenied++;
      if (draft.enabled && lacksWhatDraftNeeds(draftContent, entry)) {
        result.unmatched++;
        result.unmatchedEntryIds.push(entry.id);
      }
      if (draftDecision !== baselineDecision) {
        result.changed++;
        result.changes.push({ entryId: entry.id, recordedDecision: entry.decision, baselineDecision, draftDecision });
      }
    }
  } finally {
    engine.invalidate();
  }
  return result;
}
