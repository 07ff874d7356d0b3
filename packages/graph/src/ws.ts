import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { GraphQLError, type ExecutionArgs } from 'graphql';
import { CloseCode, handleProtocols, makeServer, type Context } from 'graphql-ws';
import type { YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer, type WebSocket } from 'ws';
import type { AuditEntry, Core, FeedSink, Viewer } from '@wicket/core';
import type { GraphContext } from './context.ts';
import { isSharedResult, serializeShared, sharedExecutionStats, takeLeanSource, type LeanSource } from './shared-subscription.ts';
import type { GraphServerContext } from './yoga.ts';

export interface GraphqlWsOptions {
  core: Core;
  yoga: YogaServerInstance<GraphServerContext, GraphContext>;
  path?: string;
  /** Active operations on one connection (default 20). */
  maxSubscriptionsPerSocket?: number;
  /**
   * Open authenticated connections of one account, across its tokens and sessions, graphql-ws sockets
   * and SSE subscription streams together (default 20).
   */
  maxSocketsPerAccount?: number;
  /** Origins whose pages may use the console's session cookie on the upgrade request. */
  allowedOrigins?: string[];
  /** Ping interval; a socket that misses a pong for as long is terminated (default 12 s). */
  keepAliveMs?: number;
  /** How long close() waits for clients to answer the 1001 close before cutting them off. */
  closeTimeoutMs?: number;
  /**
   * Shared results go out through the lean path (leanStream below; default true). false sends every
   * frame through graphql-ws's own path: for tests that compare the two, and benchmarks.
   */
  leanDelivery?: boolean;
}

export interface GraphqlWsStats {
  sockets: number;
  /** Accounts with a graphql-ws socket or an SSE stream open. */
  accounts: number;
  subscriptions: number;
  /** auditEntryAdded results executed / reused from another subscriber of the same group. */
  executions: number;
  /** ...of which by the operation compiled once (graphql-jit) rather than graphql-js's execute. */
  compiledExecutions: number;
  reusedExecutions: number;
  /** Payloads serialised for shared results (once each, however many sockets receive them). */
  serializations: number;
}

export interface GraphqlWsHandle {
  close(): Promise<void>;
  stats(): GraphqlWsStats;
}

interface Extra {
  socket: WebSocket;
  request: IncomingMessage;
  viewer?: Viewer;
}

/** graphql-ws close code for an account over its connection limit; the client does not retry it. */
export const TOO_MANY_CONNECTIONS = 4429;

/**
 * Open live connections per account, shared by graphql-ws sockets and SSE subscription streams (one per
 * Core): the per-account limit counts both, so an account cannot get around it by switching transport.
 */
export interface AccountConnections {
  /** Most graphql-ws sockets plus SSE streams one account may have open (default 20). */
  limit: number;
  readonly open: Map<string, number>;
  /** Takes a slot; false when the account is at its limit. No await between check and take. */
  acquire(accountId: string): boolean;
  release(accountId: string): void;
}

const connectionsByCore = new WeakMap<object, AccountConnections>();

export function accountConnections(core: Core): AccountConnections {
  let c = connectionsByCore.get(core);
  if (!c) {
    const open = new Map<string, number>();
    c = {
      limit: 20,
      open,
      acquire(accountId) {
        const n = open.get(accountId) ?? 0;
        if (n >= this.limit) return false;
        open.set(accountId, n + 1);
        return true;
      },
      release(accountId) {
        const n = (open.get(accountId) ?? 1) - 1;
        if (n > 0) open.set(accountId, n);
        else open.delete(accountId);
      },
    };
    connectionsByCore.set(core, c);
  }
  return c;
}

/**
 * graphql-ws stringifies every message per socket. A shared result (one per group and operation
 * shape, see shared-subscription.ts) is serialised once: the replacer below stands a placeholder in for
 * the payload and the socket's send splices the cached JSON back. stringify and send run back to back
 * in one synchronous step inside graphql-ws, so the one pending payload cannot be taken by another
 * message.
 */
class PreSerialized {
  constructor(readonly json: string) {}
}
const PLACEHOLDER = '\u0000wicket:payload\u0000';
const PLACEHOLDER_JSON = JSON.stringify(PLACEHOLDER);
let pendingPayload: string | undefined;

function replacer(this: unknown, _key: string, value: unknown): unknown {
  if (value instanceof PreSerialized) {
    pendingPayload = value.json;
    return PLACEHOLDER;
  }
  return value;
}

function spliceFrame(data: string): string {
  const payload = pendingPayload;
  if (payload === undefined) return data;
  pendingPayload = undefined;
  const at = data.lastIndexOf(PLACEHOLDER_JSON);
  return at < 0 ? data : data.slice(0, at) + payload + data.slice(at + PLACEHOLDER_JSON.length);
}

const SEND_HIGH_WATER = 256 * 1024;

/** The TCP socket under a `ws` WebSocket: `ws` offers no cork of its own. */
function rawSocketOf(socket: WebSocket): { cork(): void; uncork(): void; writableCorked: number } | undefined {
  return (socket as unknown as { _socket?: { cork(): void; uncork(): void; writableCorked: number } })._socket;
}

/**
 * Frames sent to one socket within one tick go out in one write (one syscall) instead of one each: the
 * feed lets one subscriber at a time send everything it has queued, so a socket gets one write per read
 * pass. The time the write takes is reported to the feed, whose coalescing window follows it.
 */
function corkUntilNextTick(socket: WebSocket, onWrite: (ms: number) => void): void {
  const raw = rawSocketOf(socket);
  if (!raw || raw.writableCorked) return;
  raw.cork();
  process.nextTick(() => {
    const started = performance.now();
    raw.uncork();
    onWrite(performance.now() - started);
  });
}

/** The TCP socket under a `ws` WebSocket, as the lean path writes to it. */
interface RawSocket {
  write(data: Buffer, cb?: (err?: Error | null) => void): boolean;
}

/**
 * Where the lean path may write its own frames: `ws`'s TCP socket, when `ws` has nothing of its own
 * queued (it queues only for compression, which this server does not negotiate, and blobs), so frames
 * written here go out in call order with everything `ws` writes itself (pings, closes, the ordinary
 * path's messages). undefined: the lean path sends through `ws.send`, one message at a time.
 */
function leanWritable(socket: WebSocket): RawSocket | undefined {
  const internals = socket as unknown as { _socket?: RawSocket; _sender?: { _bufferedBytes?: number } };
  if (socket.extensions !== '' || internals._sender?._bufferedBytes !== 0) return undefined;
  return internals._socket;
}

/** Bytes of a WebSocket frame header for a payload of n bytes, server to client (unmasked). */
function headerBytes(n: number): number {
  return n < 126 ? 2 : n < 65536 ? 4 : 10;
}

/** Writes a final text frame's header for a payload of n bytes at `at`; returns where the payload goes. */
function writeHeader(buf: Buffer, at: number, n: number): number {
  buf[at] = 0x81;
  if (n < 126) {
    buf[at + 1] = n;
    return at + 2;
  }
  if (n < 65536) {
    buf[at + 1] = 126;
    buf.writeUInt16BE(n, at + 2);
    return at + 4;
  }
  buf[at + 1] = 127;
  buf.writeUInt32BE(0, at + 2);
  buf.writeUInt32BE(n, at + 6);
  return at + 10;
}

/**
 * The lean path for shared results. A `next` frame of an auditEntryAdded event is the same bytes for
 * every subscriber of one operation shape but for the operation id, so it is built by concatenation from
 * the once-serialised, once-encoded payload and written to the socket directly, in the feed's delivery
 * turns (FeedSubscription.deliverTo): no next() chain through Yoga's and envelop's result wrappers, no
 * graphql-ws `for await` step, no stringifyMessage, no promise per frame. The bytes are graphql-ws's
 * own: `{"id":…,"type":"next","payload":…}` (its key order, JSON.stringify of the id).
 *
 * The frames of one turn (everything one subscriber sends in one go) are WebSocket frames laid end to
 * end in one buffer, written with one call: no string per frame, no UTF-8 encoding per socket (the
 * payload's bytes are copied), no per-frame entries in the socket's write queue. These are the bytes
 * `ws` would write for the same messages (this server negotiates no compression; when `ws` might have
 * something queued, the frames go through `ws.send` instead).
 *
 * Everything else stays graphql-ws's: the iterator below is what graphql-ws holds for the operation, so
 * a `complete` from the client or the socket closing returns it (and the feed subscription behind it),
 * and when the stream leaves push mode (it ended, failed, or an event needs the ordinary path: an
 * execution still pending, a result with errors) its next() takes the rest from the ordinary chain,
 * so graphql-ws sends that event, the `complete` or the `error` after every frame already written.
 */
function leanStream(wrapped: AsyncGenerator<unknown>, lean: LeanSource, socket: WebSocket, id: string): AsyncGenerator<unknown> {
  const prefix = Buffer.from(`{"id":${JSON.stringify(id)},"type":"next","payload":`);
  const sub = lean.subscription;
  /** The payloads of this turn's frames, and the bytes they take on the wire. */
  let turn: Buffer[] = [];
  let turnBytes = 0;
  let held = false;
  const sink: FeedSink = {
    send(entry: AuditEntry) {
      const payload = lean.payloadOf(entry);
      if (payload === undefined) return false;
      // As graphql-ws's own send does when the socket is closing: the frame is dropped, and the close
      // returns the operation.
      if (socket.readyState !== socket.OPEN) return true;
      const n = prefix.length + payload.length + 1;
      turn.push(payload);
      turnBytes += headerBytes(n) + n;
      // Below the high-water mark the next frame may follow at once (and share the write); above it,
      // this subscriber waits for the write to drain: a slow reader slows its own stream only.
      if (socket.bufferedAmount + turnBytes < SEND_HIGH_WATER) return true;
      held = true;
      return 'wait';
    },
    flush() {
      const payloads = turn;
      const bytes = turnBytes;
      const wait = held;
      turn = [];
      turnBytes = 0;
      held = false;
      if (payloads.length === 0) return;
      const resume = wait ? () => sub.resume() : undefined;
      if (socket.readyState !== socket.OPEN) return resume?.();
      const raw = leanWritable(socket);
      if (!raw) {
        for (const [i, payload] of payloads.entries()) {
          const frame = Buffer.concat([prefix, payload, CLOSE_BRACE]);
          socket.send(frame, { binary: false }, i === payloads.length - 1 ? resume : undefined);
        }
        return;
      }
      const buf = Buffer.allocUnsafe(bytes);
      let at = 0;
      for (const payload of payloads) {
        at = writeHeader(buf, at, prefix.length + payload.length + 1);
        at += prefix.copy(buf, at);
        at += payload.copy(buf, at);
        at += CLOSE_BRACE.copy(buf, at);
      }
      raw.write(buf, resume);
    },
  };
  let pushing = true;
  const stream: AsyncGenerator<unknown> = {
    [Symbol.asyncIterator]() {
      return this;
    },
    next() {
      if (!pushing) return wrapped.next();
      return new Promise<void>((resolve) => sub.deliverTo(sink, resolve)).then(() => wrapped.next());
    },
    return(value?: unknown) {
      pushing = false;
      return wrapped.return(value);
    },
    throw(error?: unknown) {
      pushing = false;
      return wrapped.throw(error);
    },
  } as AsyncGenerator<unknown>;
  return stream;
}

const CLOSE_BRACE = Buffer.from('}');

function pathOf(request: IncomingMessage): string {
  try {
    return new URL(request.url ?? '/', 'http://localhost').pathname;
  } catch {
    return '';
  }
}

/** The session cookie counts only for same-origin pages and the console (cross-site WebSocket hijacking). */
function cookieAllowed(request: IncomingMessage, allowedOrigins: string[]): boolean {
  const origin = request.headers.origin;
  if (!origin) return true; // not a browser page: no ambient cookie to abuse
  if (allowedOrigins.includes(origin)) return true;
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}

/**
 * GraphQL over WebSocket (graphql-ws protocol) on the HTTP server's `/graphql`. Every operation runs
 * through `yoga.getEnveloped`, so the same plugins (auth, limits, masking) and the same context
 * factory apply as over HTTP and SSE (conventions item 7).
 */
export function attachGraphqlWs(server: Server, options: GraphqlWsOptions): GraphqlWsHandle {
  const { core, yoga } = options;
  const path = options.path ?? '/graphql';
  const maxSubscriptions = options.maxSubscriptionsPerSocket ?? 20;
  const maxSockets = options.maxSocketsPerAccount ?? 20;
  const allowedOrigins = options.allowedOrigins ?? [];
  const keepAliveMs = options.keepAliveMs ?? 12_000;
  const leanDelivery = options.leanDelivery ?? true;
  const log = core.logger;

  const connections = accountConnections(core);
  connections.limit = maxSockets;
  const onSocketWrite = (ms: number) => core.feed.recordSocketWrite(ms);
  const contexts = new Map<WebSocket, Context<Record<string, unknown>, Extra>>();
  const operations = new WeakMap<ExecutionArgs, { enveloped: ReturnType<typeof yoga.getEnveloped>; id: string; socket: WebSocket }>();
  let closing = false;

  const gql = makeServer<Record<string, unknown>, Extra>({
    jsonMessageReplacer: replacer,
    async onConnect(ctx) {
      const { request, socket } = ctx.extra;
      if (closing) {
        socket.close(1001, 'server shutting down');
        return false;
      }
      const params = ctx.connectionParams ?? {};
      const fromParams = typeof params.authorization === 'string' ? params.authorization : typeof params.Authorization === 'string' ? params.Authorization : undefined;
      const authorization = fromParams ?? request.headers.authorization;
      const cookie = !authorization && cookieAllowed(request, allowedOrigins) ? request.headers.cookie : undefined;
      const viewer = await core.auth.authenticate({ authorization, cookie }).catch((err) => {
        log.warn({ err }, 'graphql-ws: authentication failed');
        return null;
      });
      if (socket.readyState !== socket.OPEN) return false;
      if (!viewer) {
        socket.close(CloseCode.Unauthorized, 'Unauthorized: send {"authorization": "Bearer <API token>"} in connection_init, or sign in');
        return false;
      }
      // No await between the count and the increment: concurrent connects cannot all slip under it.
      if (!connections.acquire(viewer.accountId)) {
        socket.close(TOO_MANY_CONNECTIONS, `too many connections for this account (at most ${connections.limit})`);
        return false;
      }
      ctx.extra.viewer = viewer;
      contexts.set(socket, ctx);
      const unwatch = core.feed.watchCredential(viewer, () => socket.close(CloseCode.Unauthorized, 'Unauthorized: credential revoked or signed out'));
      socket.once('close', () => {
        unwatch();
        contexts.delete(socket);
        connections.release(viewer.accountId);
      });
      return true;
    },
    async onSubscribe(ctx, id, payload) {
      // ctx.subscriptions already holds this operation's id.
      if (Object.keys(ctx.subscriptions).length > maxSubscriptions) {
        return [
          new GraphQLError(`too many operations on one connection (at most ${maxSubscriptions}); complete one or open another connection`, {
            extensions: { code: 'TOO_MANY_SUBSCRIPTIONS' },
          }),
        ];
      }
      const enveloped = yoga.getEnveloped({ viewer: ctx.extra.viewer ?? null, req: ctx.extra.request, socket: ctx.extra.socket, params: payload } as any);
      let document;
      try {
        document = enveloped.parse(payload.query);
      } catch (err) {
        return [err instanceof GraphQLError ? err : new GraphQLError('could not parse the operation')];
      }
      const args: ExecutionArgs = {
        schema: enveloped.schema,
        operationName: payload.operationName,
        document,
        variableValues: payload.variables,
        contextValue: await enveloped.contextFactory(),
      };
      const errors = enveloped.validate(args.schema, args.document);
      if (errors.length > 0) return errors;
      operations.set(args, { enveloped, id, socket: ctx.extra.socket });
      return args;
    },
    execute: (args) => operations.get(args)!.enveloped.execute(args) as any,
    async subscribe(args) {
      const op = operations.get(args)!;
      const result = await op.enveloped.subscribe(args);
      const lean = takeLeanSource(args.contextValue);
      if (!lean || !leanDelivery || typeof result !== 'object' || result === null || !(Symbol.asyncIterator in result)) return result as any;
      return leanStream(result as AsyncGenerator<unknown>, lean, op.socket, op.id) as any;
    },
    onNext(_ctx, _id, _payload, _args, result) {
      if (isSharedResult(result)) return new PreSerialized(serializeShared(result)) as any;
    },
  });

  const wss = new WebSocketServer({ noServer: true, handleProtocols, maxPayload: 1024 * 1024 });

  wss.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    socket.on('error', (err) => log.debug({ err }, 'graphql-ws: socket error'));
    const closed = gql.opened(
      {
        protocol: socket.protocol,
        send: (data) => {
          const frame = spliceFrame(data);
          if (socket.readyState !== socket.OPEN) return Promise.resolve();
          corkUntilNextTick(socket, onSocketWrite);
          // Below the high-water mark the next message may follow at once (and share the write);
          // above it, wait for the write to drain: a slow reader slows its own stream only.
          if (socket.bufferedAmount < SEND_HIGH_WATER) {
            socket.send(frame);
            return Promise.resolve();
          }
          return new Promise<void>((resolve, reject) => socket.send(frame, (err) => (err ? reject(err) : resolve())));
        },
        close: (code, reason) => {
          if (socket.readyState === socket.OPEN) socket.close(code, reason);
        },
        onMessage: (cb) =>
          socket.on('message', async (data) => {
            try {
              await cb(String(data));
            } catch (err) {
              log.error({ err }, 'graphql-ws: failed to handle a message');
              if (socket.readyState === socket.OPEN) socket.close(CloseCode.InternalServerError, 'Internal server error');
            }
          }),
      },
      { socket, request },
    );

    // Keep-alive: a peer that vanished without a close frame is found and cut off.
    let alive = true;
    socket.on('pong', () => (alive = true));
    const ping = keepAliveMs > 0 ? setInterval(() => {
      if (!alive) return socket.terminate();
      alive = false;
      socket.ping();
    }, keepAliveMs) : undefined;

    socket.once('close', (code, reason) => {
      if (ping) clearInterval(ping);
      closed(code, String(reason)).catch((err) => log.warn({ err }, 'graphql-ws: cleanup after close failed'));
    });
  });

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (pathOf(request) !== path) {
      // Nobody else handles upgrades on this server: refuse instead of leaving the socket hanging.
      if (server.listenerCount('upgrade') <= 1) socket.destroy();
      return;
    }
    if (closing) {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
  };
  server.on('upgrade', onUpgrade);

  return {
    async close() {
      if (closing) return;
      closing = true;
      server.off('upgrade', onUpgrade);
      const open = [...wss.clients];
      // 1001 Going Away: clients (browsers, graphql-ws) reconnect, to this or another instance.
      await Promise.all(
        open.map(
          (socket) =>
            new Promise<void>((resolve) => {
              if (socket.readyState === socket.CLOSED) return resolve();
              const timer = setTimeout(() => {
                socket.terminate();
                resolve();
              }, options.closeTimeoutMs ?? 2000);
              socket.once('close', () => {
                clearTimeout(timer);
                resolve();
              });
              if (socket.readyState === socket.OPEN) socket.close(1001, 'server shutting down');
            }),
        ),
      );
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
    stats() {
      let subscriptions = 0;
      for (const ctx of contexts.values()) subscriptions += Object.keys(ctx.subscriptions).length;
      return {
        sockets: wss.clients.size,
        accounts: connections.open.size,
        subscriptions,
        executions: sharedExecutionStats.executions,
        compiledExecutions: sharedExecutionStats.compiled,
        reusedExecutions: sharedExecutionStats.reused,
        serializations: sharedExecutionStats.serializations,
      };
    },
  };
}
