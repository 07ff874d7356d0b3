import type { IncomingMessage, ServerResponse } from 'node:http';
import { Hono } from 'hono';
import { ProxyService, type AuditWriterOptions, type Core, type RateLimitOptions } from '@wicket/core';
import { toResponse, type McpAnswer } from './jsonrpc.ts';
import { createMcpHandlers, fetchMcpRequest, nodeMcpRequest, type ProxyMetrics } from './mcp-route.ts';
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
  /** Requests waiting for their decision (key lookup, policies, audit commit) past which new ones get 503 at once. Default 256 (one full group-commit batch). */
  maxPendingDecisions?: number;
  /** (key, tool) pairs whose caller and route stay in memory, re-checked by each audit INSERT. Default 10,000; `false`: read for every call. */
  callerCache?: number | false;
}

export interface McpProxy {
  /** POST /mcp (and 405 for other methods) as Hono routes: in-process handlers and any fetch-style server. */
  routes: Hono;
  /**
   * POST /mcp straight on Node's request and response (the server's fast path: no fetch Request or
   * Response is built). Same handlers, same answers as `routes`.
   */
  handleNode(req: IncomingMessage, res: ServerResponse): void;
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
      callerCache: options.callerCache,
      audit: {
        ...options.audit,
        onBatch: (batch) => {
          options.metrics?.auditBatchRows?.observe(batch.rows);
          options.audit?.onBatch?.(batch);
        },
        onOutcomes: (batch) => {
          options.metrics?.auditOutcomeRows?.observe(batch.rows);
          options.audit?.onOutcomes?.(batch);
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
    maxPendingDecisions: options.maxPendingDecisions ?? 256,
    serverVersion: '0.1.0',
  });

  const routes = new Hono();
  routes.post('/mcp', async (c) => {
    const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
    return toResponse(await handlers.post(fetchMcpRequest(c.req.raw, incoming?.socket?.remoteAddress ?? null, incoming)));
  });
  routes.on(['GET', 'DELETE', 'PUT', 'PATCH'], '/mcp', () => toResponse(handlers.methodNotAllowed()));

  const send = (res: ServerResponse, answer: McpAnswer) => {
    if (res.headersSent || res.destroyed) return;
    res.writeHead(answer.status, answer.body === null ? answer.headers : { ...answer.headers, 'Content-Length': String(Buffer.byteLength(answer.body)) });
    res.end(answer.body ?? undefined);
  };

  return {
    routes,
    handleNode(req, res) {
      handlers.post(nodeMcpRequest(req)).then(
        (answer) => send(res, answer),
        (error: unknown) => {
          // post() answers every expected failure itself; this is a bug, answered like Hono's onError.
          core.logger.error({ err: { message: error instanceof Error ? error.message : String(error) } }, 'proxy: unexpected error');
          send(res, { status: 500, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32603, message: 'Internal error' } }) });
        },
      );
    },
    service,
    async close() {
      await service.close();
      await forwarder.close();
    },
  };
}
