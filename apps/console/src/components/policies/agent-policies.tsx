'use client';

import Link from 'next/link';
import { useQuery } from 'urql';
import { graphql } from '@/graphql';
import { formatTimestamp, DAY_NAMES } from '@/lib/format';
import { EffectBadge } from '@/components/ui/badges';
import { EmptyState } from '@/components/ui/empty-state';
import { ErrorPanel } from '@/components/ui/error-panel';
import { LoadingRegion, SkeletonRows } from '@/components/ui/skeleton';
import { PolicyEnabledToggle } from './policy-enabled-toggle';

const AgentPolicies_Policies = graphql(`
  query AgentPolicies_Policies($agentId: ID!) {
    agent(id: $agentId) {
      id
      viewerRole
      trustMode
    }
    policies(agentId: $agentId) {
      id
      key
      name
      service
      effect
      tools
      enabled
      version
      updatedAt
      principal {
        type
        memberIds
      }
      timeWindow {
        daysOfWeek
        hoursFrom
        hoursTo
      }
    }
  }
`);

export function AgentPolicies({ agentId }: { agentId: string }) {
  const [{ data, error }, refetch] = useQuery({ query: AgentPolicies_Policies, variables: { agentId } });
  if (error && !data) return <ErrorPanel title="Could not load policies" error={error} onRetry={() => refetch({ requestPolicy: 'network-only' })} />;
  if (!data) return <PoliciesSkeleton />;
  const canEdit = data.agent?.viewerRole === 'owner';
  const policies = data.policies;

  return (
    <div className="stack" data-testid="agent-policies">
      <div className="toolbar">
        <p className="muted">
          A matching <strong>forbid</strong> always wins; otherwise a matching <strong>permit</strong> allows. Changes apply from the
          next call.
        </p>
        <span className="spacer" />
        {canEdit ? (
          <Link className="btn btn-primary btn-sm" href={`/agents/${agentId}/policies/new`} data-testid="policy-create">
            New policy
          </Link>
        ) : null}
      </div>
      {policies.length === 0 ? (
        <EmptyState title="No policies yet" testId="policies-empty">
          <p>
            {data.agent?.trustMode === 'trusted'
              ? 'This agent is trusted, so calls to its enabled services are allowed by default.'
              : 'This agent is untrusted, so every call is denied until a policy permits it.'}{' '}
            {canEdit ? <Link href={`/agents/${agentId}/policies/new`}>Create a policy</Link> : 'Ask an owner to create one.'}
          </p>
        </EmptyState>
      ) : (
        <table className="table" data-testid="policies-table">
          <thead>
            <tr>
              <th>Policy</th>
              <th>Effect</th>
              <th>Service</th>
              <th>Tools</th>
              <th>Who / when</th>
              <th>Version</th>
              <th>Enabled</th>
            </tr>
          </thead>
          <tbody>
            {policies.map((policy) => (
              <tr key={policy.id} data-testid="policy-row" data-policy-id={policy.id} data-enabled={policy.enabled}>
                <td>
                  <Link href={`/policies/${policy.id}`} data-testid="policy-link">
                    {policy.name}
                  </Link>
                  <div className="muted small mono">{policy.key}</div>
                </td>
                <td>
                  <EffectBadge effect={policy.effect} />
                </td>
                <td>{policy.service}</td>
                <td className="small">{policy.tools.length ? policy.tools.join(', ') : <span className="muted">all tools</span>}</td>
                <td className="small">
                  {policy.principal.type === 'specific_members' ? `${policy.principal.memberIds.length} member(s)` : 'all members'}
                  {policy.timeWindow ? <div className="muted">{describeWindow(policy.timeWindow)}</div> : null}
                </td>
                <td title={`Updated ${formatTimestamp(policy.updatedAt)}`}>v{policy.version}</td>
                <td>
                  <PolicyEnabledToggle policy={policy} canEdit={canEdit} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

function describeWindow(window: { daysOfWeek?: readonly number[] | null; hoursFrom?: number | null; hoursTo?: number | null }): string {
  const days = window.daysOfWeek?.length ? window.daysOfWeek.map((d) => DAY_NAMES[d] ?? d).join(' ') : 'every day';
  const hours = window.hoursFrom !== null && window.hoursFrom !== undefined ? `${window.hoursFrom}:00–${window.hoursTo ?? 23}:59` : '';
  return [days, hours].filter(Boolean).join(', ');
}

export function PoliciesSkeleton() {
  return (
    <LoadingRegion label="Loading policies">
      <SkeletonRows rows={5} columns={7} />
    </LoadingRegion>
  );
}
