'use client';

import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useEffect, useMemo, useState } from 'react';
import { useQuery } from 'urql';
import { graphql } from '@/graphql';
import { auditHref, type AuditFilterParams } from '@/lib/audit-filter';
import { formatNumber, formatPercent } from '@/lib/format';
import { RANGES, resolveRange } from '@/lib/time-range';
import { useUrlParams } from '@/lib/url-state';
import { EmptyState } from '@/components/ui/empty-state';
import { ErrorPanel, FieldError } from '@/components/ui/error-panel';
import { OverviewSkeleton } from './overview-skeleton';
import { ServiceBreakdown } from './service-breakdown';
import { TrafficChart } from './traffic-chart';

const Overview_Agents = graphql(`
  query Overview_Agents {
    agents(first: 200, sort: { field: name, direction: asc }) {
      edges {
        node {
          id
          name
        }
      }
    }
  }
`);

const Overview_Stats = graphql(`
  query Overview_Stats($filter: AuditFilter, $bucket: StatsBucket) {
    auditStats(filter: $filter, bucket: $bucket) {
      total
      allowed
      denied
      allowRatio
      denyRatio
      bucket
      series {
        start
        allowed
        denied
      }
      services {
        service
        total
        allowed
        denied
        topTools {
          tool
          total
          denied
        }
        topDenyingPolicies {
          policyId
          key
          name
          count
        }
      }
    }
  }
`);

const MINUTE = 60_000;
const currentMinute = () => Math.floor(Date.now() / MINUTE) * MINUTE;

export function Overview() {
  const router = useRouter();
  const { searchParams, setParams } = useUrlParams();
  const rangeId = searchParams.get('range') ?? '24h';
  const customFrom = searchParams.get('from');
  const customTo = searchParams.get('to');
  const agentId = searchParams.get('agentId') ?? '';

  // Relative ranges slide with the clock: once a minute, or on Refresh.
  const [now, setNow] = useState(currentMinute);
  useEffect(() => {
    const timer = setInterval(() => setNow(currentMinute()), MINUTE);
    return () => clearInterval(timer);
  }, []);

  const range = useMemo(() => resolveRange(rangeId, customFrom, customTo, now), [rangeId, customFrom, customTo, now]);
  const filter = useMemo(
    () => ({ from: range.from, ...(range.to ? { to: range.to } : {}), ...(agentId ? { agentId } : {}) }),
    [range, agentId],
  );
  const auditScope: AuditFilterParams = { from: range.from, ...(range.to ? { to: range.to } : {}), ...(agentId ? { agentId } : {}) };

  const [agents] = useQuery({ query: Overview_Agents });
  const [stats, refetch] = useQuery({ query: Overview_Stats, variables: { filter, bucket: range.bucket } });
  const data = stats.data?.auditStats;

  const [customDraft, setCustomDraft] = useState({ from: customFrom ?? '', to: customTo ?? '' });
  const [customError, setCustomError] = useState<string | undefined>();

  const applyCustom = () => {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(customDraft.from)) {
      setCustomError('Pick a start date.');
      return;
    }
    if (customDraft.to && customDraft.to < customDraft.from) {
      setCustomError('The end date is before the start date.');
      return;
    }
    setCustomError(undefined);
    setParams({ range: 'custom', from: customDraft.from, to: customDraft.to || null });
  };

  return (
    <section className="page" data-testid="overview">
      <div className="page-header">
        <h1>Overview</h1>
        <div className="toolbar" role="group" aria-label="Range and agent">
          <div className="segmented" role="radiogroup" aria-label="Time range" data-testid="range-picker">
            {RANGES.map((r) => (
              <button
                key={r.id}
                type="button"
                role="radio"
                aria-checked={rangeId === r.id}
                className={rangeId === r.id ? 'active' : undefined}
                data-testid={`range-${r.id}`}
                onClick={() => setParams({ range: r.id, from: null, to: null })}
              >
                {r.label}
              </button>
            ))}
            <button
              type="button"
              role="radio"
              aria-checked={rangeId === 'custom'}
              className={rangeId === 'custom' ? 'active' : undefined}
              data-testid="range-custom"
              onClick={() => setParams({ range: 'custom' })}
            >
              Custom
            </button>
          </div>
          <label className="inline-field">
            <span>Agent</span>
            <select
              name="agentId"
              value={agentId}
              onChange={(e) => setParams({ agentId: e.target.value || null })}
              data-testid="overview-agent"
            >
              <option value="">All agents</option>
              {agents.data?.agents.edges.map(({ node }) => (
                <option key={node.id} value={node.id}>
                  {node.name}
                </option>
              ))}
            </select>
          </label>
          <button
            type="button"
            className="btn btn-sm"
            data-testid="overview-refresh"
            onClick={() => {
              setNow(currentMinute());
              refetch({ requestPolicy: 'network-only' });
            }}
          >
            Refresh
          </button>
        </div>
      </div>

      {rangeId === 'custom' ? (
        <form
          className="toolbar custom-range"
          data-testid="custom-range"
          onSubmit={(e) => {
            e.preventDefault();
            applyCustom();
          }}
        >
          <label className="inline-field">
            <span>From (UTC)</span>
            <input type="date" name="from" value={customDraft.from} onChange={(e) => setCustomDraft((d) => ({ ...d, from: e.target.value }))} data-testid="custom-from" />
          </label>
          <label className="inline-field">
            <span>To (UTC, inclusive)</span>
            <input type="date" name="to" value={customDraft.to} onChange={(e) => setCustomDraft((d) => ({ ...d, to: e.target.value }))} data-testid="custom-to" />
          </label>
          <button type="submit" className="btn btn-sm btn-primary" data-testid="custom-apply">
            Apply
          </button>
          <FieldError message={customError} testId="custom-range-error" />
        </form>
      ) : null}

      {stats.error && !data ? (
        <ErrorPanel title="Could not load traffic statistics" error={stats.error} onRetry={() => refetch({ requestPolicy: 'network-only' })} />
      ) : !data ? (
        <OverviewSkeleton />
      ) : (
        <div className="stack" aria-busy={stats.fetching}>
          <div className="stat-grid">
            <Stat label="Total calls" value={formatNumber(data.total)} testId="stat-total" href={auditHref(auditScope)} />
            <Stat label="Allowed" value={formatNumber(data.allowed)} testId="stat-allowed" href={auditHref({ ...auditScope, result: 'ALLOW' })} tone="allow" />
            <Stat label="Denied" value={formatNumber(data.denied)} testId="stat-denied" href={auditHref({ ...auditScope, result: 'DENY' })} tone="deny" />
            <Stat
              label="Allow / deny"
              value={`${formatPercent(data.allowRatio)} / ${formatPercent(data.denyRatio)}`}
              testId="stat-ratio"
            />
          </div>
          {data.total === 0 ? (
            <EmptyState title="No tool calls in this range">
              <p>
                Widen the range, pick another agent, or connect an MCP client: open an agent&rsquo;s <Link href="/agents">Members</Link> tab,
                create a member key and paste the client configuration it shows.
              </p>
            </EmptyState>
          ) : (
            <>
              <div className="card">
                <h2 className="card-title">Calls over time</h2>
                <TrafficChart series={data.series} bucket={data.bucket} />
              </div>
              <ServiceBreakdown
                services={data.services}
                auditScope={auditScope}
                onOpenAudit={(filter) => router.push(auditHref({ ...auditScope, ...filter }))}
              />
            </>
          )}
        </div>
      )}
    </section>
  );
}

function Stat({ label, value, testId, href, tone }: { label: string; value: string; testId: string; href?: string; tone?: 'allow' | 'deny' }) {
  const body = (
    <>
      <span className="stat-label">{label}</span>
      <span className="stat-value" data-testid={testId}>
        {value}
      </span>
    </>
  );
  return href ? (
    <Link className={`card stat ${tone ? `stat-${tone}` : ''}`} href={href} data-testid={`${testId}-link`}>
      {body}
    </Link>
  ) : (
    <div className={`card stat ${tone ? `stat-${tone}` : ''}`}>{body}</div>
  );
}
