'use client';

import { useMemo, useState } from 'react';
import { useLiveStatus } from '@/lib/providers';
import { errorParam } from '@/lib/errors';
import {
  filterToQueryString,
  readAuditFilter,
  toFilterInput,
  validateAuditFilter,
  type AuditFilterKey,
  type AuditFilterParams,
} from '@/lib/audit-filter';
import { formatNumber } from '@/lib/format';
import { useUrlParams } from '@/lib/url-state';
import { EmptyState } from '@/components/ui/empty-state';
import { ErrorPanel } from '@/components/ui/error-panel';
import { LoadingRegion, SkeletonRows } from '@/components/ui/skeleton';
import { AuditFilters } from './audit-filters';
import { AuditList } from './audit-list';
import { ActiveScopes } from './active-scopes';
import { ExportButton } from './export-button';
import { useAuditFeed } from './use-audit-feed';

/**
 * The audit view: filters kept in the URL, history with keyset paging, live rows, pause, export.
 * `scopedAgentId` fixes the agent (an agent's Audit tab); the rest of the filter comes from the URL.
 */
export function AuditView({ scopedAgentId }: { scopedAgentId?: string }) {
  const { searchParams, setParams } = useUrlParams();
  const [paused, setPaused] = useState(false);
  const liveStatus = useLiveStatus();

  const urlFilter = readAuditFilter(searchParams);
  const filter: AuditFilterParams = scopedAgentId ? { ...urlFilter, agentId: scopedAgentId, agent: undefined } : urlFilter;
  const key = filterToQueryString(filter);
  // Keyed on the serialised filter: the feed restarts exactly when the filter's content changes.
  const errors = useMemo(() => validateAuditFilter(filter), [key]);
  const valid = Object.keys(errors).length === 0;
  const input = useMemo(() => toFilterInput(filter), [key]);

  const feed = useAuditFeed({ filter: input, filterKey: key, enabled: valid, paused });

  const serverParam = feed.status === 'error' ? errorParam(feed.error ?? undefined) : undefined;
  const fieldErrors = serverParam && feed.error ? { ...errors, [serverParam]: feed.error.graphQLErrors[0]?.message } : errors;

  const onChange = (changes: Partial<Record<AuditFilterKey, string | null>>) => setParams(changes);
  const onScope = (changes: { member?: string; policy?: string }) => setParams(changes, { push: true });

  const liveState = !valid ? 'off' : paused ? 'paused' : feed.liveError ? 'error' : liveStatus;
  const liveLabel: Record<string, string> = {
    off: 'Live: off',
    paused: 'Paused',
    error: 'Live: error',
    connected: 'Live',
    connecting: 'Connecting…',
    reconnecting: 'Reconnecting…',
    idle: 'Live',
  };

  return (
    <div className="audit-view" data-testid="audit-view">
      <AuditFilters filter={filter} errors={fieldErrors} scopedAgentId={scopedAgentId} onChange={onChange} />
      <ActiveScopes filter={filter} scopedAgentId={scopedAgentId} entries={feed.entries} onClear={(k) => setParams({ [k]: null })} />

      <div className="toolbar audit-toolbar">
        <span className={`live-dot live-${liveState}`} data-testid="audit-live-status" data-state={liveState} title={feed.liveError ?? undefined}>
          {liveLabel[liveState] ?? liveState}
        </span>
        <button
          type="button"
          className="btn btn-sm"
          onClick={() => setPaused((p) => !p)}
          disabled={!valid}
          aria-pressed={paused}
          data-testid="audit-pause"
        >
          {paused ? 'Resume' : 'Pause'}
        </button>
        {paused ? (
          <span className="badge badge-warn" data-testid="audit-new-count" data-count={feed.pending.length}>
            {formatNumber(feed.pending.length)} new
          </span>
        ) : null}
        <span className="muted small" data-testid="audit-loaded-count">
          {feed.status === 'ready' ? `${formatNumber(feed.entries.length)} loaded${feed.hasNextPage ? ', scroll for more' : ''}` : ''}
        </span>
        <span className="spacer" />
        <ExportButton filter={filter} disabled={!valid} />
      </div>

      {feed.liveError ? (
        <p className="notice" role="status" data-testid="audit-live-error">
          The live stream reported: {feed.liveError}{' '}
          <button type="button" className="btn btn-sm" onClick={feed.restart} data-testid="audit-live-restart">
            Restart live updates
          </button>
        </p>
      ) : null}

      {!valid ? (
        <EmptyState title="Fix the highlighted filter to see entries" testId="audit-invalid-filter">
          <p>Each filter names what it expects below the field.</p>
        </EmptyState>
      ) : feed.status === 'error' ? (
        <ErrorPanel title="Could not load audit entries" error={feed.error} />
      ) : feed.status === 'loading' ? (
        <LoadingRegion label="Loading audit entries">
          <SkeletonRows rows={10} columns={7} />
        </LoadingRegion>
      ) : feed.entries.length === 0 && feed.pending.length === 0 ? (
        <EmptyState title="No audit entries match" testId="audit-empty">
          <p>
            {Object.keys(urlFilter).length
              ? 'Loosen or clear the filters, or widen the time range.'
              : 'No agent has called a tool yet. Give a member a key (Agents → Members) and connect an MCP client.'}{' '}
            New calls appear here as they happen.
          </p>
        </EmptyState>
      ) : (
        <AuditList
          entries={feed.entries}
          hasNextPage={feed.hasNextPage}
          loadingMore={feed.loadingMore}
          loadError={feed.status === 'ready' ? feed.error : null}
          onLoadMore={feed.loadMore}
          onScope={onScope}
        />
      )}
    </div>
  );
}
