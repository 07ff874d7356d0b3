'use client';

import Link from 'next/link';
import { useEffect, useRef, useState } from 'react';
import { useQuery } from 'urql';
import { graphql } from '@/graphql';
import { formatNumber } from '@/lib/format';
import { useUrlParams } from '@/lib/url-state';
import { StatusBadge } from '@/components/ui/badges';
import { EmptyState } from '@/components/ui/empty-state';
import { ErrorPanel } from '@/components/ui/error-panel';
import { AgentStatusToggle } from './agent-status-toggle';
import { AgentsTableSkeleton } from './agents-skeleton';

const AgentsList_Agents = graphql(`
  query AgentsList_Agents($filter: AgentFilter, $first: Int, $after: String) {
    agents(filter: $filter, first: $first, after: $after, sort: { field: name, direction: asc }) {
      totalCount
      edges {
        cursor
        node {
          id
          name
          status
          trustMode
          timezone
          tags
          enabledServices
          viewerRole
          updatedAt
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

const PAGE_SIZE = 50;
const STATUSES = ['active', 'disabled'] as const;

export function AgentsList() {
  const { searchParams, setParams } = useUrlParams();
  const search = searchParams.get('search') ?? '';
  const statusParam = searchParams.get('status');
  const status = STATUSES.find((s) => s === statusParam) ?? null;
  const after = searchParams.get('after');

  const [draft, setDraft] = useState(search);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => {
    if (document.activeElement?.getAttribute('name') !== 'search') setDraft(search);
  }, [search]);
  useEffect(() => () => {
    if (timer.current) clearTimeout(timer.current);
  }, []);

  const [{ data, error, fetching }, refetch] = useQuery({
    query: AgentsList_Agents,
    variables: { filter: { search: search || null, status }, first: PAGE_SIZE, after },
  });
  const connection = data?.agents;
  const filtered = Boolean(search || status);

  return (
    <section className="page" data-testid="agents-page">
      <div className="page-header">
        <h1>Agents</h1>
        {connection ? (
          <span className="muted" data-testid="agents-total">
            {formatNumber(connection.totalCount)} {connection.totalCount === 1 ? 'agent' : 'agents'}
          </span>
        ) : null}
      </div>
      <form className="toolbar" role="search" onSubmit={(e) => e.preventDefault()} data-testid="agents-filters">
        <label className="inline-field">
          <span>Name</span>
          <input
            type="search"
            name="search"
            value={draft}
            placeholder="Search by name"
            data-testid="agents-search"
            onChange={(e) => {
              const value = e.target.value;
              setDraft(value);
              if (timer.current) clearTimeout(timer.current);
              timer.current = setTimeout(() => setParams({ search: value.trim() || null, after: null }), 300);
            }}
          />
        </label>
        <label className="inline-field">
          <span>Status</span>
          <select
            name="status"
            value={status ?? ''}
            onChange={(e) => setParams({ status: e.target.value || null, after: null })}
            data-testid="agents-status-filter"
          >
            <option value="">Any</option>
            <option value="active">Active</option>
            <option value="disabled">Disabled</option>
          </select>
        </label>
      </form>

      {error && !connection ? (
        <ErrorPanel title="Could not load agents" error={error} onRetry={() => refetch({ requestPolicy: 'network-only' })} />
      ) : !connection ? (
        <AgentsTableSkeleton />
      ) : connection.edges.length === 0 ? (
        filtered ? (
          <EmptyState title="No agents match these filters" testId="agents-empty">
            <p>
              Try another name or status, or{' '}
              <button type="button" className="link-button" onClick={() => setParams({ search: null, status: null, after: null })}>
                clear the filters
              </button>
              .
            </p>
          </EmptyState>
        ) : (
          <EmptyState title="No agents yet" testId="agents-empty">
            <p>
              You are not a member of any agent. Ask an agent&rsquo;s owner to add you, or create the demo installation with{' '}
              <code>npm run seed</code>.
            </p>
          </EmptyState>
        )
      ) : (
        <>
          <table className="table" aria-busy={fetching} data-testid="agents-table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Status</th>
                <th>Trust mode</th>
                <th>Services</th>
                <th>Your role</th>
                <th aria-label="Actions" />
              </tr>
            </thead>
            <tbody>
              {connection.edges.map(({ node }) => (
                <tr key={node.id} data-testid="agent-row" data-agent-id={node.id} data-status={node.status}>
                  <td>
                    <Link href={`/agents/${node.id}`} data-testid="agent-link">
                      {node.name}
                    </Link>
                    {node.tags.length ? (
                      <div className="tags">
                        {node.tags.map((tag) => (
                          <span key={tag} className="tag">
                            {tag}
                          </span>
                        ))}
                      </div>
                    ) : null}
                  </td>
                  <td>
                    <StatusBadge status={node.status} testId="agent-status" />
                  </td>
                  <td>{node.trustMode}</td>
                  <td className="small">{node.enabledServices.join(', ') || <span className="muted">none</span>}</td>
                  <td>{node.viewerRole}</td>
                  <td className="actions">
                    <AgentStatusToggle agent={node} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <div className="pager">
            {after ? (
              <button type="button" className="btn btn-sm" onClick={() => setParams({ after: null }, { push: true })} data-testid="agents-first-page">
                First page
              </button>
            ) : null}
            {connection.pageInfo.hasNextPage && connection.pageInfo.endCursor ? (
              <button
                type="button"
                className="btn btn-sm"
                onClick={() => setParams({ after: connection.pageInfo.endCursor }, { push: true })}
                data-testid="agents-next-page"
              >
                Next page
              </button>
            ) : null}
          </div>
        </>
      )}
    </section>
  );
}
