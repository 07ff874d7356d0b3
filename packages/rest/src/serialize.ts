import type { AgentView, AuditEntry, MemberKeyInfo, MemberView } from '@wicket/core';

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
