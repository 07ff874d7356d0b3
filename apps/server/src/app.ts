import type { AddressInfo } from 'node:net';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { getRequestListener } from '@hono/node-server';
import { Hono } from 'hono';
import { cors } from 'hono/cors';
import { createCore, type AuditFeedOptions, type AuditFeedStats, type Core, type Logger, type SignInDelivery } from '@wicket/core';
import type { Database } from '@wicket/db';
import { attachGraphqlWs, createGraphServer, type GraphqlWsHandle, type GraphqlWsOptions, type GraphqlWsStats } from '@wicket/graph';
import { createMcpProxy, type McpProxy, type McpProxyOptions } from '@wicket/proxy';
import { createRestApi } from '@wicket/rest';
import { createMetrics } from './metrics.ts';
import { startStreamProcess, type StreamProcessConfig, type StreamProcessHandle } from './stream-process.ts';

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
  /**
   * PostgreSQL only: serve graphql-ws from a child process of its own (stream-process.ts), so the live
   * stream's deliveries do not share the proxy's event loop. Absent: in this process.
   */
  streamProcess?: StreamProcessConfig;
}

export interface App {
  core: Core;
  /** The MCP proxy (its ProxyService: caller-cache counters for tests and benchmarks). */
  proxy: McpProxy;
  /** The whole HTTP surface as a fetch handler: tests call it in process. */
  handler: (request: Request) => Promise<Response>;
  start(port: number, host?: string): Promise<{ port: number; url: string; server: Server }>;
  stop(): Promise<void>;
  /**
   * Live stream counters (tests and benchmarks check that nothing leaks). With a stream process, its
   * feed and sockets as it last reported them (every 200 ms): that is where the WebSocket subscribers are.
   */
  streamStats(): { feed: AuditFeedStats; ws: GraphqlWsStats | null };
  /** The stream process's id, when there is one (tests). */
  streamProcessPid(): number | undefined;
}

/** Builds the app without listening: /graphql, /api/*, /mcp, /healthz, /metrics on one port. */
export function buildApp(config: AppConfig): App {
  if (config.streamProcess && config.database.kind !== 'postgres') {
    throw new Error('streamProcess needs PostgreSQL: the embedded database lives in one process');
  }
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
  let streamProcess: StreamProcessHandle | undefined;
  let streamProcessUsed = false;
  const closers: (() => Promise<void>)[] = [];

  return {
    core,
    proxy,
    handler: async (request) => app.fetch(request),
    streamStats: () => (streamProcess ? (streamProcess.stats() ?? { feed: core.feed.stats(), ws: null }) : { feed: core.feed.stats(), ws: ws?.stats() ?? null }),
    streamProcessPid: () => streamProcess?.pid(),
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
      if (config.streamProcess) {
        // ...served by a child process: upgrade requests on the path are handed to it, socket and all.
        const child = await startStreamProcess(
          {
            databaseUrl: config.streamProcess.databaseUrl,
            poolSize: config.streamProcess.poolSize ?? 4,
            logLevel: config.streamProcess.logLevel ?? 'warn',
            serverSecret: config.serverSecret,
            consoleOrigins: origins,
            secureCookies: config.secureCookies,
            stream: config.stream,
          },
          core.logger,
        );
        streamProcess = child;
        streamProcessUsed = true;
        const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
          if (graphqlPath(request.url) === '/graphql') child.upgrade(request, socket, head);
          else socket.destroy();
        };
        server.on('upgrade', onUpgrade);
        closers.push(async () => {
          server?.off('upgrade', onUpgrade);
          await child.close();
          streamProcess = undefined;
        });
      } else {
        const socketServer = attachGraphqlWs(server, { core, yoga, allowedOrigins: origins, ...config.stream });
        ws = socketServer;
        closers.push(() => socketServer.close());
      }
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
        const closed = new Promise<void>((resolve) => s.close(() => resolve()));
        // Known flaw of this experiment: a server that handed sockets to a child process that has since
        // exited never calls back from close() (Node forgets the exited child's socket list but still
        // counts it), so the wait is bounded here.
        await (streamProcessUsed ? Promise.race([closed, new Promise((r) => setTimeout(r, 1000))]) : closed);
      }
    },
  };
}

function graphqlPath(url: string | undefined): string {
  try {
    return new URL(url ?? '/', 'http://localhost').pathname;
  } catch {
    return '';
  }
}
