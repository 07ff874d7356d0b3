import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import { Hono } from 'hono';
import { cors } from 'hono/cors';
import { createCore, type AuditFeedOptions, type AuditFeedStats, type Core, type Logger, type SignInDelivery } from '@wicket/core';
import type { Database } from '@wicket/db';
import { attachGraphqlWs, createGraphServer, type GraphqlWsHandle, type GraphqlWsOptions, type GraphqlWsStats } from '@wicket/graph';
import { createMcpProxy, type McpProxy, type McpProxyOptions } from '@wicket/proxy';
import { createRestApi } from '@wicket/rest';
import { createMetrics } from './metrics.ts';

export interface AppConfig {
  database: Database;
  logger: Logger;
  serverSecret: string;
  /** Origins allowed to call /graphql and /api with credentials (the console). */
  consoleOrigins?: string[];
  secureCookies?: boolean;
  /** How sign-in codes reach people (default: the server log). */
  delivery?: SignInDelivery;
  /** MCP proxy settings: rate limit, upstream timeout, trusted proxy hops; tests also pass a clock. */
  proxy?: McpProxyOptions;
  /** Live audit stream: feed tuning and graphql-ws limits (defaults suit production). */
  stream?: AuditFeedOptions & Pick<GraphqlWsOptions, 'maxSubscriptionsPerSocket' | 'maxSocketsPerAccount' | 'keepAliveMs' | 'leanDelivery'>;
}

export interface App {
  core: Core;
  /** The MCP proxy (its ProxyService: caller-cache counters for tests and benchmarks). */
  proxy: McpProxy;
  /** The whole HTTP surface as a fetch handler: tests call it in process. */
  handler: (request: Request) => Promise<Response>;
  start(port: number, host?: string): Promise<{ port: number; url: string; server: Server }>;
  stop(): Promise<void>;
  /** Live stream counters (tests and benchmarks check that nothing leaks). */
  streamStats(): { feed: AuditFeedStats; ws: GraphqlWsStats | null };
}

/** Builds the app without listening: /graphql, /api/*, /mcp, /healthz, /metrics on one port. */
export function buildApp(config: AppConfig): App {
  const core = createCore({ database: config.database, logger: config.logger, serverSecret: config.serverSecret, delivery: config.delivery, feed: config.stream });
  const metrics = createMetrics({ callerStats: () => proxy.service.callerStats });
  const yoga = createGraphServer({ core, secureCookies: config.secureCookies });
  const proxy = createMcpProxy(core, { ...config.proxy, metrics: config.proxy?.metrics ?? metrics });
  const app = new Hono();

  const origins = config.consoleOrigins ?? [];
  const corsMiddleware = cors({
    origin: (origin) => (origins.includes(origin) ? origin : null),
    credentials: true,
    allowHeaders: ['Content-Type', 'Authorization'],
    exposeHeaders: ['Content-Disposition', 'X-Next-Offset', 'Retry-After'],
    allowMethods: ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS'],
  });
  app.use('/graphql', corsMiddleware);
  app.use('/api/*', corsMiddleware);

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/metrics', async () => new Response(await metrics.registry.metrics(), { headers: { 'Content-Type': metrics.registry.contentType } }));

  app.on(['GET', 'POST', 'OPTIONS'], '/graphql', async (c) => {
    // Read before any await: the node adapter aborts this signal when the client disconnects only if
    // it exists by then. SSE subscriptions end with it (a client may leave before the stream starts).
    const signal = c.req.raw.signal;
    const viewer = await core.auth.authenticate({ authorization: c.req.header('authorization'), cookie: c.req.header('cookie') });
    const cookies: string[] = [];
    const response = await yoga.fetch(c.req.raw, { viewer, setCookie: (v) => cookies.push(v), signal });
    if (cookies.length === 0) return response;
    const headers = new Headers(response.headers);
    for (const v of cookies) headers.append('Set-Cookie', v);
    return new Response(response.body, { status: response.status, headers });
  });
  app.route('/api', createRestApi(core));
  app.route('/', proxy.routes);

  app.notFound((c) => c.json({ error: { code: 'NOT_FOUND', message: `no route for ${c.req.method} ${new URL(c.req.url).pathname}` } }, 404));
  app.onError((err, c) => {
    core.logger.error({ err }, 'unexpected error');
    return c.json({ error: { code: 'INTERNAL', message: 'internal error' } }, 500);
  });

  let server: Server | undefined;
  let ws: GraphqlWsHandle | undefined;
  const closers: (() => Promise<void>)[] = [];

  return {
    core,
    proxy,
    handler: async (request) => app.fetch(request),
    streamStats: () => ({ feed: core.feed.stats(), ws: ws?.stats() ?? null }),
    async start(port, host = '127.0.0.1') {
      const honoListener = getRequestListener(app.fetch);
      // POST /mcp, the hot path, goes to the proxy on Node's own request and response; everything else
      // (including other methods on /mcp) through Hono.
      server = createServer((req, res) => {
        const url = req.url ?? '';
        if (req.method === 'POST' && (url === '/mcp' || url.startsWith('/mcp?'))) proxy.handleNode(req, res);
        else void honoListener(req, res);
      });
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(port, host, () => resolve());
      });
      // graphql-ws on the same port and path; SSE subscriptions go through the /graphql route above.
      const socketServer = attachGraphqlWs(server, { core, yoga, allowedOrigins: origins, ...config.stream });
      ws = socketServer;
      closers.push(() => socketServer.close());
      await core.feed.start();
      const actual = (server.address() as AddressInfo).port;
      return { port: actual, url: `http://${host}:${actual}`, server };
    },
    async stop() {
      for (const close of closers.reverse()) await close().catch(() => {});
      closers.length = 0;
      await core.feed.stop();
      await proxy.close();
      if (server) {
        const s = server;
        server = undefined;
        s.closeAllConnections?.();
        await new Promise<void>((resolve) => s.close(() => resolve()));
      }
    },
  };
}
