import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics at /metrics. One registry per app, so tests can build several apps. */
export function createMetrics(sources: { callerStats: () => { reads: number; cacheHits: number; staleRetries: number } }) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    callerLookups: new Counter({
      name: 'wicket_proxy_caller_lookups_total',
      help: 'Callers of tools/call by where they came from: database (read), cache (no read), stale (cached caller changed, decided again)',
      labelNames: ['source'],
      registers: [registry],
      collect() {
        const s = sources.callerStats();
        this.reset();
        this.inc({ source: 'database' }, s.reads);
        this.inc({ source: 'cache' }, s.cacheHits);
        this.inc({ source: 'stale' }, s.staleRetries);
      },
    }),
    proxyRequests: new Counter({ name: 'wicket_proxy_requests_total', help: 'Proxy requests by outcome', labelNames: ['outcome'], registers: [registry] }),
    decisionSeconds: new Histogram({
      name: 'wicket_decision_seconds',
      help: 'Time to decide a tool call',
      buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05],
      registers: [registry],
    }),
    upstreamSeconds: new Histogram({
      name: 'wicket_proxy_upstream_seconds',
      help: 'Time the upstream MCP server took to answer a forwarded call, by outcome',
      labelNames: ['outcome'],
      buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      registers: [registry],
    }),
    auditBatchRows: new Histogram({
      name: 'wicket_audit_batch_rows',
      help: 'Audit entries per group-commit INSERT',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers: [registry],
    }),
    auditOutcomeRows: new Histogram({
      name: 'wicket_audit_outcome_rows',
      help: 'Outcomes (duration, upstream status) per batched UPDATE of audit entries',
      buckets: [1, 4, 16, 64, 256, 1000],
      registers: [registry],
    }),
  };
}
