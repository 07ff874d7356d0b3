import type { AuditEntryRow } from '@wicket/db';
import type { Access } from '../access.ts';
import { encodeAuditCursor } from './cursor.ts';

export interface MatchedPolicyRef {
  id: string;
  key: string;
  name: string;
  version: number;
  effect: 'permit' | 'forbid';
}

/** An audit entry as every surface shows it (spec §5; REST uses these names as they are). */
export interface AuditEntry {
  id: string;
  timestamp: Date;
  agentId: string;
  agentName: string;
  memberId: string | null;
  memberName: string;
  memberKeyId: string | null;
  sessionId: string | null;
  service: string;
  tool: string;
  action: string;
  resource: string;
  callerIp: string | null;
  toolArgs: unknown;
  decision: 'ALLOW' | 'DENY';
  reason: string;
  matchedPolicyIds: string[];
  matchedPolicyNames: string[];
  matchedPolicies: MatchedPolicyRef[];
  policyId: string | null;
  durationMs: number | null;
  principal: string;
  upstreamStatus: string | null;
  upstreamError: string | null;
  /** Not part of the legacy shape: the list/stream cursor of this entry. */
  cursor: string;
}

function parseJson<T>(value: unknown, fallback: T): T {
  if (value === null || value === undefined) return fallback;
  if (typeof value === 'string') {
    try {
      return JSON.parse(value) as T;
    } catch {
      return fallback;
    }
  }
  return value as T;
}

/**
 * Generated reasons name the deciding policy ("… by policy 'Block deletes' (block-deletes)"); for a
 * viewer from whom policy identities are hidden, those names and keys are replaced, while an admin's
 * deny message (meant for the caller) stays readable.
 */
function maskPolicyIdentities(reason: string, matched: MatchedPolicyRef[]): string {
  let out = reason;
  for (const p of matched) {
    for (const word of [p.name, p.key, p.id]) if (word && word.length > 1) out = out.split(word).join('[policy]');
  }
  return out;
}

/** The one place a stored row becomes an entry, with the viewer's visibility applied. */
export function toAuditEntry(row: AuditEntryRow, access: Access): AuditEntry {
  const hide = access.hidesPoliciesOf(row.agent_id);
  const stored = parseJson<MatchedPolicyRef[]>(row.matched_policies, []);
  const matched = hide ? [] : stored;
  const timestamp = new Date(row.timestamp);
  return {
    id: row.id,
    timestamp,
    agentId: row.agent_id,
    agentName: row.agent_name,
    memberId: row.member_id,
    memberName: row.member_name,
    memberKeyId: row.member_key_id,
    sessionId: row.session_id,
    service: row.service,
    tool: row.tool,
    action: row.action,
    resource: row.resource,
    callerIp: row.caller_ip,
    toolArgs: parseJson<unknown>(row.tool_args, {}),
    decision: row.decision as 'ALLOW' | 'DENY',
    reason: hide ? maskPolicyIdentities(row.reason, stored) : row.reason,
    matchedPolicyIds: matched.map((p) => p.key),
    matchedPolicyNames: matched.map((p) => p.name),
    matchedPolicies: matched,
    policyId: hide ? null : row.policy_id,
    durationMs: row.duration_ms,
    principal: row.principal,
    upstreamStatus: row.upstream_status,
    upstreamError: row.upstream_error,
    cursor: encodeAuditCursor({ seq: Number(row.seq), timestamp, id: row.id }),
  };
}
