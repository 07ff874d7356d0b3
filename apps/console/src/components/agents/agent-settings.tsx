'use client';

import { useQuery } from 'urql';
import { graphql } from '@/graphql';
import { formatTimestamp } from '@/lib/format';
import { CopyButton } from '@/components/ui/copy-button';
import { ErrorPanel } from '@/components/ui/error-panel';
import { SettingsSkeleton } from './settings-skeleton';

const AgentSettings_Agent = graphql(`
  query AgentSettings_Agent($id: ID!) {
    agent(id: $id) {
      id
      name
      tags
      status
      trustMode
      timezone
      enabledServices
      createdAt
      updatedAt
    }
  }
`);

/** Read-only: the API has no mutation to change these yet. */
export function AgentSettings({ agentId }: { agentId: string }) {
  const [{ data, error }, refetch] = useQuery({ query: AgentSettings_Agent, variables: { id: agentId } });
  if (error && !data) return <ErrorPanel title="Could not load the agent's settings" error={error} onRetry={() => refetch({ requestPolicy: 'network-only' })} />;
  const agent = data?.agent;
  if (!agent) return <SettingsSkeleton />;

  return (
    <div className="card" data-testid="agent-settings">
      <dl className="settings-list">
        <dt>Name</dt>
        <dd data-testid="setting-name">{agent.name}</dd>
        <dt>Agent id</dt>
        <dd className="mono">
          {agent.id} <CopyButton text={agent.id} label="Copy id" testId="copy-agent-id" />
        </dd>
        <dt>Time zone</dt>
        <dd data-testid="setting-timezone">
          {agent.timezone} <span className="muted small">(policy time windows use it)</span>
        </dd>
        <dt>Trust mode</dt>
        <dd data-testid="setting-trust-mode">
          {agent.trustMode}{' '}
          <span className="muted small">
            {agent.trustMode === 'trusted'
              ? '(a service with no enabled policy is allowed by default)'
              : '(a service with no enabled policy is denied: fail closed)'}
          </span>
        </dd>
        <dt>Enabled services</dt>
        <dd data-testid="setting-services">
          {agent.enabledServices.length ? (
            <span className="tags">
              {agent.enabledServices.map((service) => (
                <span key={service} className="tag">
                  {service}
                </span>
              ))}
            </span>
          ) : (
            <span className="muted">None: every tool call is denied.</span>
          )}
        </dd>
        <dt>Tags</dt>
        <dd>{agent.tags.join(', ') || <span className="muted">none</span>}</dd>
        <dt>Created</dt>
        <dd>{formatTimestamp(agent.createdAt)}</dd>
        <dt>Updated</dt>
        <dd>{formatTimestamp(agent.updatedAt)}</dd>
      </dl>
      <p className="muted small">These settings are read-only in the console for now.</p>
    </div>
  );
}
