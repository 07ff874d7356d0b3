'use client';

import Link from 'next/link';
import { formatDuration, prettyJson } from '@/lib/format';
import { EffectBadge } from '@/components/ui/badges';
import type { AuditEntry } from './audit-operations';

/** The expanded row: why the decision was made, with which policy versions, on which (redacted) arguments. */
export function AuditRowDetail({ entry, onScopePolicy }: { entry: AuditEntry; onScopePolicy: (policyId: string) => void }) {
  return (
    <div className="audit-detail" data-testid="audit-row-detail">
      <div className="audit-detail-grid">
        <section>
          <h3 className="subhead">{entry.decision === 'DENY' ? 'Why it was denied' : 'Why it was allowed'}</h3>
          <p className={entry.decision === 'DENY' ? 'reason reason-deny' : 'reason'} data-testid="audit-reason">
            {entry.reason || '—'}
          </p>
          <h3 className="subhead">Matched policies</h3>
          {entry.matchedPolicies.length ? (
            <ul className="matched-list" data-testid="audit-matched-policies">
              {entry.matchedPolicies.map((policy) => (
                <li key={`${policy.id}-${policy.version}`} data-testid="matched-policy" data-policy-id={policy.id}>
                  <EffectBadge effect={policy.effect} />
                  <Link href={`/policies/${policy.id}?version=${policy.version}`} data-testid="matched-policy-link">
                    {policy.name} <span className="muted">v{policy.version}</span>
                  </Link>
                  {policy.id === entry.policyId ? <span className="badge">decided</span> : null}
                  <button type="button" className="btn btn-ghost btn-sm" onClick={() => onScopePolicy(policy.id)} data-testid="matched-policy-scope">
                    Show calls it matched
                  </button>
                </li>
              ))}
            </ul>
          ) : entry.matchedPolicyNames.length ? (
            <p data-testid="audit-matched-policies">{entry.matchedPolicyNames.join(', ')}</p>
          ) : (
            <p className="muted" data-testid="audit-matched-policies">
              No policy matched{entry.decision === 'ALLOW' ? ' (allowed by the agent’s trust mode)' : ''}, or policy identities are hidden from members of a trusted agent.
            </p>
          )}
        </section>
        <section>
          <h3 className="subhead">Tool arguments (redacted)</h3>
          <pre className="code" data-testid="audit-tool-args">
            {prettyJson(entry.toolArgs)}
          </pre>
        </section>
      </div>
      <dl className="meta-grid">
        <dt>Entry id</dt>
        <dd className="mono" data-testid="audit-entry-id">{entry.id}</dd>
        <dt>Time (UTC)</dt>
        <dd className="mono">{entry.timestamp}</dd>
        <dt>Agent</dt>
        <dd>
          <Link href={`/agents/${entry.agentId}`}>{entry.agentName}</Link>
        </dd>
        <dt>Action</dt>
        <dd className="mono">{entry.action}</dd>
        <dt>Resource</dt>
        <dd className="mono">{entry.resource || '—'}</dd>
        <dt>Principal</dt>
        <dd className="mono">{entry.principal}</dd>
        <dt>Caller IP</dt>
        <dd className="mono">{entry.callerIp ?? '—'}</dd>
        <dt>Session</dt>
        <dd className="mono">{entry.sessionId ?? '—'}</dd>
        <dt>Member key</dt>
        <dd className="mono">{entry.memberKeyId ?? '—'}</dd>
        <dt>Duration</dt>
        <dd>{formatDuration(entry.durationMs)}</dd>
        <dt>Upstream</dt>
        <dd data-testid="audit-upstream">{entry.upstreamError ? `${entry.upstreamStatus ?? 'error'}: ${entry.upstreamError}` : entry.upstreamStatus ?? (entry.decision === 'DENY' ? 'not called' : '—')}</dd>
      </dl>
    </div>
  );
}
