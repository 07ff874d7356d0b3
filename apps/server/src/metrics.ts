import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics at /metrics. One registry per app, so tests can build several apps. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    proxyRequests: new Counter({ name: 'wicket_proxy_requests_total', help: 'Proxy requests by outcome', labelNames: ['outcome'], registers: [registry] }),
    decisionSeconds: new Histogram({
      name: 'wicket_decision_seconds',
      help: 'Time to decide a tool call',
      buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05],
      registers: [registry],
    }),
  };
}
