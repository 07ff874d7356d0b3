'use client';

import Link from 'next/link';
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { auditHref, type AuditFilterParams } from '@/lib/audit-filter';
import { formatNumber } from '@/lib/format';
import { COLORS } from './chart-colors';

interface ServiceStats {
  service: string;
  total: number;
  allowed: number;
  denied: number;
  topTools: readonly { tool: string; total: number; denied: number }[];
  topDenyingPolicies: readonly { policyId: string; key: string; name: string; count: number }[];
}

/**
 * Per-service traffic: a clickable stacked bar per service, then each service's top tools and top
 * denying policies as links into the audit view with that filter.
 */
export function ServiceBreakdown({
  services,
  auditScope,
  onOpenAudit,
}: {
  services: readonly ServiceStats[];
  auditScope: AuditFilterParams;
  onOpenAudit: (filter: AuditFilterParams) => void;
}) {
  const data = services.map((s) => ({ service: s.service, allowed: s.allowed, denied: s.denied }));
  const openService = (entry: unknown) => {
    const service = (entry as { service?: string; payload?: { service?: string } } | undefined);
    const key = service?.service ?? service?.payload?.service;
    if (key) onOpenAudit({ service: key });
  };

  return (
    <div className="card" data-testid="service-breakdown">
      <h2 className="card-title">By service</h2>
      <div className="chart" data-testid="service-chart">
        <ResponsiveContainer width="100%" height={Math.max(80, data.length * 44 + 40)}>
          <BarChart data={data} layout="vertical" margin={{ top: 0, right: 16, bottom: 0, left: 8 }}>
            <CartesianGrid strokeDasharray="3 3" stroke={COLORS.grid} horizontal={false} />
            <XAxis type="number" allowDecimals={false} tick={{ fontSize: 12, fill: COLORS.axis }} />
            <YAxis type="category" dataKey="service" width={96} tick={{ fontSize: 12, fill: COLORS.axis }} />
            <Tooltip contentStyle={{ background: 'var(--surface)', border: '1px solid var(--border)', color: 'var(--text)' }} cursor={{ fill: COLORS.cursor }} />
            <Bar dataKey="allowed" name="Allowed" stackId="s" fill={COLORS.allow} cursor="pointer" onClick={openService} isAnimationActive={false} />
            <Bar dataKey="denied" name="Denied" stackId="s" fill={COLORS.deny} cursor="pointer" onClick={openService} isAnimationActive={false} />
          </BarChart>
        </ResponsiveContainer>
      </div>
      <div className="service-grid">
        {services.map((s) => (
          <section key={s.service} className="service-card" data-testid="service-row" data-service={s.service}>
            <header className="service-card-header">
              <Link href={auditHref({ ...auditScope, service: s.service })} data-testid="service-link">
                {s.service}
              </Link>
              <span className="muted small">
                {formatNumber(s.total)} calls · <span className="text-deny">{formatNumber(s.denied)} denied</span>
              </span>
            </header>
            <div className="meter" aria-hidden="true">
              <span className="meter-allow" style={{ width: `${s.total ? (s.allowed / s.total) * 100 : 0}%` }} />
              <span className="meter-deny" style={{ width: `${s.total ? (s.denied / s.total) * 100 : 0}%` }} />
            </div>
            <h3 className="subhead">Top tools</h3>
            {s.topTools.length ? (
              <ol className="rank-list">
                {s.topTools.map((t) => (
                  <li key={t.tool}>
                    <Link href={auditHref({ ...auditScope, service: s.service, tool: t.tool })} data-testid="top-tool-link" data-tool={t.tool}>
                      {t.tool}
                    </Link>
                    <span className="muted small">
                      {formatNumber(t.total)}
                      {t.denied ? <span className="text-deny"> · {formatNumber(t.denied)} denied</span> : null}
                    </span>
                  </li>
                ))}
              </ol>
            ) : (
              <p className="muted small">No tool calls.</p>
            )}
            <h3 className="subhead">Top denying policies</h3>
            {s.topDenyingPolicies.length ? (
              <ol className="rank-list">
                {s.topDenyingPolicies.map((p) => (
                  <li key={p.policyId}>
                    <Link
                      href={auditHref({ ...auditScope, service: s.service, policy: p.policyId, result: 'DENY' })}
                      data-testid="top-policy-link"
                      data-policy-id={p.policyId}
                    >
                      {p.name}
                    </Link>
                    <span className="muted small">{formatNumber(p.count)} denied</span>
                  </li>
                ))}
              </ol>
            ) : (
              <p className="muted small">No policy denied a call here.</p>
            )}
          </section>
        ))}
      </div>
    </div>
  );
}
