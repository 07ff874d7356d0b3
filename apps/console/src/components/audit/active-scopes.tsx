'use client';

import type { AuditFilterKey, AuditFilterParams } from '@/lib/audit-filter';
import type { AuditEntry } from './audit-operations';

/**
 * Id-valued filters (member, policy, agent) shown by name, each removable. Names come from the loaded
 * entries, which all match the filter, so any one of them names the scope.
 */
export function ActiveScopes({
  filter,
  scopedAgentId,
  entries,
  onClear,
}: {
  filter: AuditFilterParams;
  scopedAgentId?: string;
  entries: readonly AuditEntry[];
  onClear: (key: AuditFilterKey) => void;
}) {
  const scopes: { key: AuditFilterKey; label: string; value: string }[] = [];
  if (filter.member) {
    const name = entries.find((e) => e.memberId === filter.member)?.memberName;
    scopes.push({ key: 'member', label: 'Member', value: name ?? filter.member });
  }
  if (filter.policy) {
    let name: string | undefined;
    for (const entry of entries) {
      name = entry.matchedPolicies.find((p) => p.id === filter.policy)?.name;
      if (name) break;
    }
    scopes.push({ key: 'policy', label: 'Policy', value: name ?? filter.policy });
  }
  if (filter.agentId && !scopedAgentId) {
    const name = entries.find((e) => e.agentId === filter.agentId)?.agentName;
    scopes.push({ key: 'agentId', label: 'Agent', value: name ?? filter.agentId });
  }
  if (!scopes.length) return null;
  return (
    <div className="chips" data-testid="audit-scopes">
      {scopes.map((scope) => (
        <span key={scope.key} className="chip" data-testid={`audit-scope-${scope.key}`}>
          {scope.label}: <strong>{scope.value}</strong>
          <button type="button" className="chip-remove" aria-label={`Remove the ${scope.label.toLowerCase()} filter`} onClick={() => onClear(scope.key)} data-testid={`audit-scope-${scope.key}-clear`}>
            ×
          </button>
        </span>
      ))}
    </div>
  );
}
