import { Hono } from 'hono';
import { ProxyService, type AuditWriterOptions, type Core, type RateLimitOptions } from '@wicket/core';
import { createMcpHandlers, type ProxyMetrics } from './mcp-route.ts';
import { HttpForwarder, SdkClientForwarder, type UpstreamForwarder } from './upstream.ts';

export type { ProxyMetrics } from './mcp-route.ts';
export { HttpForwarder, SdkClientForwarder, type ForwardResult, type UpstreamForwarder, type UpstreamCallTarget } from './upstream.ts';

export interface McpProxyOptions {
  /** Time of decisions and audit timestamps. Default: the system clock. */
  clock?: () => Date;
  /** Token bucket per member key (default burst 60, 1 token/s); `false` disables it. */
  rateLimit?: RateLimitOptions | false;
  /** Upstream answer deadline; past it the call answers 504. Default 30 000 ms. */
  upstreamTimeoutMs?: number;
  /** Reverse proxies in front of Wicket whose X-Forwarded-For is believed. Default 0 (socket address). */
  trustedProxyHops?: number;
  /** `http` (default): lean JSON-RPC over node:http; `sdk`: the official SDK Client (see docs/proxy.md). */
  forwarder?: 'http' | 'sdk' | UpstreamForwarder;
  metrics?: ProxyMetrics;
  /** Group-commit writer settings. */
  audit?: AuditWriterOptions;
  /** Largest accepted request body. Default 4 MiB. */
  maxBodyBytes?: number;
  /** Retry-After of a 503 (database unavailable). Default 5 s. */
  unavailableRetryAfterSeconds?: number;
}

export interface McpProxy {
  routes: Hono;
  service: ProxyService;
  close(): Promise<void>;
}

/** The MCP route `POST /mcp` (spec §4), over the proxy use cases of core. */
export function createMcpProxy(core: Core, options: McpProxyOptions = {}): McpProxy {
  const service = new ProxyService(
    // core.decisions: the engine and policy cache simulate uses too, so both answer alike.
    { db: core.db, secrets: core.secrets, events: core.events, logger: core.logger, decisions: core.decisions },
    {
      clock: options.clock,
      rateLimit: options.rateLimit,
      audit: {
        ...options.audit,
        onBatch: (batch) => {
          options.metrics?.auditBatchRows?.observe(batch.rows);
          options.audit?.onBatch?.(batch);
        },
      },
    },
  );
  const forwarder =
    typeof options.forwarder === 'object' ? options.forwarder : options.forwarder === 'sdk' ? new SdkClientForwarder() : new HttpForwarder();
  const handlers = createMcpHandlers({
    service,
    forwarder,
    logger: core.logger,
    metrics: options.metrics ?? {},
    upstreamTimeoutMs: options.upstreamTimeoutMs ?? 30_000,
    trustedProxyHops: options.trustedProxyHops ?? 0,
    maxBodyBytes: options.maxBodyBytes ?? 4 * 1024 * 1024,
    unavailableRetryAfterSeconds: options.unavailableRetryAfterSeconds ?? 5,
    serverVersion: '0.1.0',
  });

  const routes = new Hono();
  routes.post('/mcp', (c) => handlers.post(c));
  routes.on(['GET', 'DELETE', 'PUT', 'PATCH'], '/mcp', () => handlers.methodNotAllowed());

  return {
    routes,
    service,
    async close() {
      await service.close();
      await forwarder.close();
    },
  };
}
