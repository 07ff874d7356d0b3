'use client';

import Link from 'next/link';
import { usePathname } from 'next/navigation';
import type { ReactNode } from 'react';
import { useQuery } from 'urql';
import { graphql } from '@/graphql';
import { StatusBadge } from '@/components/ui/badges';
import { EmptyState } from '@/components/ui/empty-state';
import { ErrorPanel } from '@/components/ui/error-panel';
import { LoadingRegion, SkeletonLine } from '@/components/ui/skeleton';
import { AgentStatusToggle } from './agent-status-toggle';

const AgentHeader_Agent = graphql(`
  query AgentHeader_Agent($id: ID!) {
    agent(id: $id) {
      id
      name
      status
      trustMode
      timezone
      viewerRole
    }
  }
`);

export const AGENT_TABS = [
  { segment: '', label: 'Audit', testId: 'agent-tab-audit' },
  { segment: '/policies', label: 'Policies', testId: 'agent-tab-policies' },
  { segment: '/members', label: 'Members', testId: 'agent-tab-members' },
  { segment: '/settings', label: 'Settings', testId: 'agent-tab-settings' },
] as const;

/** The agent's name, status and emergency stop, above its tabs; every tab renders below it. */
export function AgentFrame({ agentId, children }: { agentId: string; children: ReactNode }) {
  const pathname = usePathname();
  const base = `/agents/${agentId}`;
  const [{ data, error }, refetch] = useQuery({ query: AgentHeader_Agent, variables: { id: agentId } });
  const agent = data?.agent;

  if (error && !data) {
    return (
      <section className="page">
        <ErrorPanel title="Could not load this agent" error={error} onRetry={() => refetch({ requestPolicy: 'network-only' })} />
      </section>
    );
  }
  if (data && !agent) {
    return (
      <section className="page">
        <EmptyState title="Agent not found" testId="agent-not-found">
          <p>
            There is no agent with this id, or you are not one of its members. <Link href="/agents">Back to agents</Link>
          </p>
        </EmptyState>
      </section>
    );
  }

  return (
    <section className="page page-wide" data-testid="agent-page" data-agent-id={agentId}>
      <div className="page-header">
        {agent ? (
          <>
            <div>
              <p className="breadcrumb">
                <Link href="/agents">Agents</Link> /
              </p>
              <h1 data-testid="agent-name">{agent.name}</h1>
            </div>
            <div className="toolbar">
              <StatusBadge status={agent.status} testId="agent-status" />
              <span className="badge" title="Trust mode decides what happens when no policy targets a service">
                {agent.trustMode}
              </span>
              <AgentStatusToggle agent={agent} />
            </div>
          </>
        ) : (
          <LoadingRegion label="Loading agent">
            <SkeletonLine width="14rem" height="1.75rem" />
          </LoadingRegion>
        )}
      </div>
      {agent?.status === 'disabled' ? (
        <p className="notice notice-deny" role="status" data-testid="agent-disabled-notice">
          This agent is disabled: every MCP call of its members is refused with 403 until it is re-enabled.
        </p>
      ) : null}
      <nav className="tabs" aria-label="Agent sections" data-testid="agent-tabs">
        {AGENT_TABS.map((tab) => {
          const href = `${base}${tab.segment}`;
          const current = tab.segment === '' ? pathname === base : pathname.startsWith(href);
          return (
            <Link key={tab.testId} href={href} aria-current={current ? 'page' : undefined} data-testid={tab.testId}>
              {tab.label}
            </Link>
          );
        })}
      </nav>
      <div className="tab-panel">{children}</div>
    </section>
  );
}
