import type { AgentView, AuditEntry, MemberKeyInfo, MemberView, PolicyVersionView, PolicyView, ReplaySummary, SimulationResult } from '@wicket/core';

/*
 * The one place core views become REST JSON. Field names are the legacy contract (spec §5, §7): add
 * fields if needed, never rename or drop one.
 */

/** An audit entry with the spec §5 names; `upstreamStatus`, `upstreamError` and `cursor` are extras. */
export function serializeAuditEntry(e: AuditEntry) {
  return {
    id: e.id,
    timestamp: e.timestamp.toISOString(),
    agentId: e.agentId,
    agentName: e.agentName,
    memberId: e.memberId,
    memberName: e.memberName,
    memberKeyId: e.memberKeyId,
    sessionId: e.sessionId,
    service: e.service,
    tool: e.tool,
    action: e.action,
    resource: e.resource,
    callerIp: e.callerIp,
    toolArgs: e.toolArgs,
    decision: e.decision,
    reason: e.reason,
    matchedPolicyIds: e.matchedPolicyIds,
    matchedPolicyNames: e.matchedPolicyNames,
    durationMs: e.durationMs,
    principal: e.principal,
    policyId: e.policyId,
    matchedPolicies: e.matchedPolicies.map((p) => ({ id: p.id, key: p.key, name: p.name, version: p.version, effect: p.effect })),
    upstreamStatus: e.upstreamStatus,
    upstreamError: e.upstreamError,
    // The GraphQL cursor of this entry: a script can hand it to auditEntryAdded(after:) to go live.
    cursor: e.cursor,
  };
}

export function serializeAgent(a: AgentView, enabledServices: string[]) {
  return {
    id: a.id,
    name: a.name,
    tags: a.tags,
    status: a.status,
    trustMode: a.trustMode,
    timezone: a.timezone,
    role: a.viewerRole,
    enabledServices,
    createdAt: a.createdAt.toISOString(),
    updatedAt: a.updatedAt.toISOString(),
  };
}

export function serializeMember(m: MemberView) {
  return {
    id: m.id,
    name: m.displayName,
    email: m.email,
    agentId: m.agentId,
    agentName: m.agentName,
    role: m.role,
    status: m.status,
    createdAt: m.createdAt.toISOString(),
  };
}

/** A member with its active key's id and visible suffix (never the key itself), or `key: null`. */
export function serializeMemberWithKey(m: MemberView, key: MemberKeyInfo | null) {
  return {
    ...serializeMember(m),
    key: key ? { keyId: key.keyId, suffix: key.suffix, createdAt: key.createdAt.toISOString() } : null,
  };
}

function serializeContent(p: Omit<PolicyVersionView, 'policyId' | 'version' | 'cedar' | 'createdAt' | 'createdBy'>) {
  return {
    name: p.name,
    service: p.service,
    effect: p.effect,
    tools: p.tools,
    principal: p.principal,
    timeWindow: p.timeWindow,
    callerIps: p.callerIps,
    conditions: p.conditions,
    denyMessage: p.denyMessage,
  };
}

export function serializePolicy(p: PolicyView) {
  return {
    id: p.id,
    agentId: p.agentId,
    key: p.key,
    ...serializeContent(p),
    enabled: p.enabled,
    version: p.version,
    cedar: p.cedar,
    createdAt: p.createdAt.toISOString(),
    updatedAt: p.updatedAt.toISOString(),
  };
}

export function serializeVersion(v: PolicyVersionView) {
  return { version: v.version, ...serializeContent(v), cedar: v.cedar, createdAt: v.createdAt.toISOString(), createdBy: v.createdBy };
}

export function serializeSimulation(r: SimulationResult) {
  return {
    mode: 'call' as const,
    decision: r.decision,
    reason: r.reason,
    rule: r.rule,
    matchedPolicies: r.matched,
    decidingPolicy: r.deciding,
    draftPolicy: r.draft,
    action: r.action,
    principal: r.principal,
    resource: r.resource,
    time: r.time.toISOString(),
    cedar: r.cedar,
  };
}

export function serializeReplay(r: ReplaySummary) {
  return {
    mode: 'replay' as const,
    from: r.from.toISOString(),
    to: r.to.toISOString(),
    total: r.total,
    beforeAllowed: r.beforeAllowed,
    beforeDenied: r.beforeDenied,
    afterAllowed: r.afterAllowed,
    afterDenied: r.afterDenied,
    changed: r.changed,
    unmatched: r.unmatched,
    truncated: r.truncated,
    unmatchedEntryIds: r.unmatchedEntryIds,
    changes: r.changes.map((c) => ({
      entryId: c.entry.id,
      recordedDecision: c.recordedDecision,
      baselineDecision: c.baselineDecision,
      draftDecision: c.draftDecision,
      entry: serializeAuditEntry(c.entry),
    })),
  };
}
