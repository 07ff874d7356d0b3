import http from 'node:http';
import https from 'node:https';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ErrorCode, LATEST_PROTOCOL_VERSION, McpError, SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/sdk/types.js';
import { readBodyText } from './body.ts';

export interface UpstreamCallTarget {
  url: string;
  /** Authorization header for the upstream (the connector's credentials), or null. */
  authorization: string | null;
}

/** How one forwarded `tools/call` ended. */
export type ForwardResult =
  /** The upstream answered with a result (a tool error, `isError: true`, is still a result). */
  | { kind: 'result'; httpStatus: number; result: unknown }
  /** The upstream answered with a JSON-RPC error. */
  | { kind: 'rpc_error'; httpStatus: number; code: number; message: string }
  /** The upstream answered with a non-2xx HTTP status. */
  | { kind: 'http_error'; httpStatus: number; message: string }
  /** The answer could not be read as MCP. */
  | { kind: 'invalid_response'; httpStatus: number | null; message: string }
  | { kind: 'unreachable'; message: string }
  | { kind: 'timeout'; timeoutMs: number };

/** Forwards `tools/call` to an upstream MCP server over Streamable HTTP. */
export interface UpstreamForwarder {
  callTool(target: UpstreamCallTarget, params: { name: string; arguments: Record<string, unknown> }, timeoutMs: number): Promise<ForwardResult>;
  close(): Promise<void>;
}

const CLIENT_INFO = { name: 'wicket-proxy', version: '0.1.0' };

function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  const causeText = cause instanceof Error ? (cause as { code?: string }).code ?? cause.message : undefined;
  return causeText ? `${error.message} (${causeText})` : error.message;
}

class TimeoutSignal {
  readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  timedOut = false;
  constructor(ms: number) {
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.controller.abort(new Error(`upstream timeout after ${ms} ms`));
    }, ms);
  }
  get signal(): AbortSignal {
    return this.controller.signal;
  }
  clear(): void {
    clearTimeout(this.timer);
  }
}

/** A call's deadline without AbortController (cheaper on the hot path): what to cancel when it passes. */
class Deadline {
  timedOut = false;
  private readonly timer: NodeJS.Timeout;
  private readonly cancels = new Set<() => void>();
  constructor(ms: number) {
    this.timer = setTimeout(() => {
      this.timedOut = true;
      for (const cancel of this.cancels) cancel();
      this.cancels.clear();
    }, ms);
  }
  /** Runs `cancel` when the deadline passes (at once if it has); returns a function that unregisters it. */
  onExpire(cancel: () => void): () => void {
    if (this.timedOut) {
      cancel();
      return () => {};
    }
    this.cancels.add(cancel);
    return () => this.cancels.delete(cancel);
  }
  clear(): void {
    clearTimeout(this.timer);
    this.cancels.clear();
  }
}

class DeadlinePassed extends Error {
  constructor() {
    super('upstream deadline passed');
  }
}

// ---------------------------------------------------------------------------------------------------
// Lean forwarder: node:http with keep-alive, one POST per call once the upstream session is initialised.

interface Session {
  protocolVersion: string;
  sessionId: string | null;
}

interface RpcMessage {
  jsonrpc?: unknown;
  id?: unknown;
  method?: unknown;
  result?: unknown;
  error?: { code?: unknown; message?: unknown };
}

class HttpAnswerError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const IDLE_SOCKET_MS = 4_000;
/** Largest upstream answer read (a tool result is relayed whole, so it is held in memory once). */
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;
/** After the answer arrived on an SSE stream, how long the rest of the stream may take before the socket is dropped. */
const SSE_TAIL_MS = 5_000;

/**
 * Incremental reader of `text/event-stream` bodies: feed it chunks, it returns the JSON-RPC message that
 * answers `wanted` once its event is complete; other events (notifications, progress) are skipped.
 * Line by line, looking for line ends only in the text just received, so one large event costs linear
 * time however many chunks it comes in.
 */
class SseAnswerReader {
  private readonly decoder = new TextDecoder();
  /** Pieces of the line not yet ended. */
  private partial: string[] = [];
  /** The data lines of the event not yet ended. */
  private data: string[] = [];
  constructor(private readonly wanted: number) {}

  push(chunk: Uint8Array | null): RpcMessage | null {
    // At the end of the stream, an event without its closing blank line is dropped (as EventSource does).
    const text = chunk ? this.decoder.decode(chunk, { stream: true }) : this.decoder.decode();
    let start = 0;
    let end: number;
    while ((end = text.indexOf('\n', start)) !== -1) {
      this.partial.push(text.slice(start, end));
      start = end + 1;
      let line = this.partial.length === 1 ? this.partial[0] : this.partial.join('');
      this.partial = [];
      if (line.endsWith('\r')) line = line.slice(0, -1);
      const answer = this.line(line);
      if (answer) return answer;
    }
    if (start < text.length) this.partial.push(text.slice(start));
    return null;
  }

  private line(line: string): RpcMessage | null {
    if (line === '') {
      const data = this.data.join('\n');
      this.data = [];
      if (!data) return null;
      const message = JSON.parse(data) as RpcMessage;
      return message && message.id === this.wanted && ('result' in message || 'error' in message) ? message : null;
    }
    if (line.startsWith('data:')) this.data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
    return null;
  }
}

interface PostAnswer {
  status: number;
  message: RpcMessage | null;
  sessionId: string | null;
}

interface Redirect {
  status: 307 | 308;
  location: string;
}

const MAX_REDIRECTS = 5;

/**
 * Forwards over `node:http`/`node:https` with keep-alive agents: per upstream (URL + credentials) it
 * initialises an MCP session once, remembers the negotiated protocol version and any `Mcp-Session-Id`,
 * then sends each call as one POST and reads a JSON or SSE answer. A session the upstream forgot (404)
 * is initialised again once. This is what the official client does on the wire, without its
 * per-message schema validation and without WHATWG streams (`fetch` cost about 0.5 ms of CPU more per
 * call; docs/benchmarks.md).
 */
export class HttpForwarder implements UpstreamForwarder {
  private readonly sessions = new Map<string, Promise<Session>>();
  private readonly urls = new Map<string, URL>();
  // Idle sockets are closed after 4 s (or 1 s before the upstream's Keep-Alive timeout hint), before a
  // typical server drops them: a call is never retried (it may not be idempotent), so a socket the
  // upstream closed while idle must not be picked. The socket timeout does not cut a request in flight.
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 256, scheduling: 'lifo', timeout: IDLE_SOCKET_MS });
  private readonly httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 256, scheduling: 'lifo', timeout: IDLE_SOCKET_MS });
  private nextId = 1;

  async callTool(target: UpstreamCallTarget, params: { name: string; arguments: Record<string, unknown> }, timeoutMs: number): Promise<ForwardResult> {
    const deadline = new Deadline(timeoutMs);
    try {
      for (let attempt = 0; ; attempt++) {
        const session = await untilDeadline(this.session(target, timeoutMs), deadline);
        const id = this.nextId++;
        try {
          const { status, message } = await this.post(target, session, { jsonrpc: '2.0', id, method: 'tools/call', params }, id, deadline);
          if (!message) return { kind: 'invalid_response', httpStatus: status, message: 'the upstream closed the stream without answering' };
          if ('error' in message && message.error) {
            const code = typeof message.error.code === 'number' ? message.error.code : ErrorCode.InternalError;
            return { kind: 'rpc_error', httpStatus: status, code, message: String(message.error.message ?? '') };
          }
          return { kind: 'result', httpStatus: status, result: message.result };
        } catch (error) {
          if (error instanceof HttpAnswerError && error.status === 404 && session.sessionId && attempt === 0) {
            this.sessions.delete(this.key(target));
            continue;
          }
          throw error;
        }
      }
    } catch (error) {
      if (deadline.timedOut || error instanceof HandshakeTimeout) return { kind: 'timeout', timeoutMs };
      return classify(error);
    } finally {
      deadline.clear();
    }
  }

  async close(): Promise<void> {
    const sessions = [...this.sessions.entries()];
    this.sessions.clear();
    // Stateful upstreams are told the session is over; stateless ones answer 405, which is fine.
    await Promise.all(
      sessions.map(async ([key, pending]) => {
        const session = await pending.catch(() => null);
        if (!session?.sessionId) return;
        const { url, authorization } = JSON.parse(key) as UpstreamCallTarget;
        await fetch(url, { method: 'DELETE', headers: this.headers({ url, authorization }, session), signal: AbortSignal.timeout(2000) }).catch(() => {});
      }),
    );
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  private key(target: UpstreamCallTarget): string {
    return JSON.stringify({ url: target.url, authorization: target.authorization });
  }

  /** The upstream session, initialised once and shared by concurrent calls (under its own deadline, not theirs). */
  private session(target: UpstreamCallTarget, timeoutMs: number): Promise<Session> {
    const key = this.key(target);
    let pending = this.sessions.get(key);
    if (!pending) {
      const deadline = new Deadline(timeoutMs);
      pending = this.initialize(target, deadline)
        .catch((error: unknown) => {
          throw deadline.timedOut ? new HandshakeTimeout() : error;
        })
        .finally(() => deadline.clear());
      this.sessions.set(key, pending);
      // A failed handshake is not remembered: the next call tries again.
      pending.catch(() => {
        if (this.sessions.get(key) === pending) this.sessions.delete(key);
      });
    }
    return pending;
  }

  private async initialize(target: UpstreamCallTarget, deadline: Deadline): Promise<Session> {
    const id = this.nextId++;
    const request = { jsonrpc: '2.0', id, method: 'initialize', params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: CLIENT_INFO } };
    // No MCP-Protocol-Version header before the version is negotiated.
    const { message, sessionId } = await this.post(target, { protocolVersion: '', sessionId: null }, request, id, deadline);
    if (!message || message.error || !message.result) throw new HttpAnswerError(502, `the upstream refused to initialise: ${String(message?.error?.message ?? 'no answer')}`);
    const version = (message.result as { protocolVersion?: unknown }).protocolVersion;
    if (typeof version !== 'string' || !SUPPORTED_PROTOCOL_VERSIONS.includes(version)) throw new HttpAnswerError(502, `the upstream speaks an unsupported MCP version: ${String(version)}`);
    const session = { protocolVersion: version, sessionId };
    await this.post(target, session, { jsonrpc: '2.0', method: 'notifications/initialized' }, null, deadline);
    return session;
  }

  private headers(target: UpstreamCallTarget, session: Session): Record<string, string> {
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    if (session.protocolVersion) headers['mcp-protocol-version'] = session.protocolVersion;
    if (session.sessionId) headers['mcp-session-id'] = session.sessionId;
    if (target.authorization) headers.authorization = target.authorization;
    return headers;
  }

  private url(target: UpstreamCallTarget): URL {
    let url = this.urls.get(target.url);
    if (!url) {
      url = new URL(target.url);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidAnswer(0, `unsupported upstream URL scheme "${url.protocol}"`);
      this.urls.set(target.url, url);
    }
    return url;
  }

  private async post(target: UpstreamCallTarget, session: Session, body: unknown, id: number | null, deadline: Deadline): Promise<PostAnswer> {
    const payload = Buffer.from(JSON.stringify(body));
    let url = this.url(target);
    let headers = this.headers(target, session);
    // 307/308 keep the method and body (an MCP server mounted at /mcp/ answers POST /mcp with one):
    // followed like fetch does, up to MAX_REDIRECTS, without the credentials once the origin changes.
    for (let hop = 0; ; hop++) {
      const answer = await this.send(url, headers, payload, id, session, deadline);
      if (!('location' in answer)) return answer;
      if (hop === MAX_REDIRECTS) throw new HttpAnswerError(answer.status, `HTTP ${answer.status}: more than ${MAX_REDIRECTS} redirects`);
      const next = new URL(answer.location, url);
      if (next.protocol !== 'http:' && next.protocol !== 'https:') throw new HttpAnswerError(answer.status, `HTTP ${answer.status}: redirect to a ${next.protocol} URL`);
      if (next.origin !== url.origin) {
        const { authorization: _dropped, ...rest } = headers;
        headers = rest;
      } else if (answer.status === 308 && hop === 0) {
        // Permanent, same origin: go there directly from now on.
        this.urls.set(target.url, next);
      }
      url = next;
    }
  }

  private send(url: URL, headers: Record<string, string>, payload: Buffer, id: number | null, session: Session, deadline: Deadline): Promise<PostAnswer | Redirect> {
    const isHttps = url.protocol === 'https:';
    return new Promise<PostAnswer | Redirect>((resolve, reject) => {
      let settled = false;
      const finish = (error: Error | null, answer?: PostAnswer | Redirect) => {
        if (settled) return;
        settled = true;
        unregister();
        if (error) reject(error);
        else resolve(answer!);
      };
      const req = (isHttps ? https : http).request(url, {
        method: 'POST',
        agent: isHttps ? this.httpsAgent : this.httpAgent,
        headers: { ...headers, 'content-length': String(payload.byteLength) },
      });
      const unregister = deadline.onExpire(() => {
        req.destroy();
        finish(new DeadlinePassed());
      });
      req.on('error', (error) => finish(error));
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        const sessionHeader = res.headers['mcp-session-id'];
        const sessionId = (typeof sessionHeader === 'string' ? sessionHeader : null) ?? session.sessionId;
        res.on('error', (error) => finish(error));
        const location = res.headers.location;
        if ((status === 307 || status === 308) && typeof location === 'string' && location) {
          res.resume();
          finish(null, { status, location });
          return;
        }
        if (status < 200 || status >= 300) {
          readText(res, 200).then(
            (text) => finish(new HttpAnswerError(status, `HTTP ${status}${text ? `: ${text.slice(0, 200)}` : ''}`)),
            () => finish(new HttpAnswerError(status, `HTTP ${status}`)),
          );
          return;
        }
        if (id === null || status === 202) {
          res.resume();
          finish(null, { status, message: null, sessionId });
          return;
        }
        const type = String(res.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
        if (type === 'text/event-stream') {
          const reader = new SseAnswerReader(id);
          let size = 0;
          const take = (chunk: Buffer | null) => {
            if (settled) return;
            try {
              if (chunk) size += chunk.byteLength;
              if (size > MAX_ANSWER_BYTES) throw new InvalidAnswer(status, `the answer is larger than ${MAX_ANSWER_BYTES} bytes`);
              const message = reader.push(chunk);
              if (message) {
                finish(null, { status, message, sessionId });
                // Let the stream end by itself (keeps the socket for the next call), within bounds.
                const tail = setTimeout(() => res.destroy(), SSE_TAIL_MS);
                tail.unref();
                res.once('close', () => clearTimeout(tail));
              } else if (!chunk) {
                finish(null, { status, message: null, sessionId });
              }
            } catch (error) {
              res.destroy();
              finish(error as Error);
            }
          };
          res.on('data', take);
          res.on('end', () => take(null));
          res.on('close', () => finish(null, { status, message: null, sessionId }));
          return;
        }
        if (type === 'application/json') {
          readText(res, MAX_ANSWER_BYTES).then((text) => {
            try {
              const data = JSON.parse(text) as RpcMessage | RpcMessage[];
              const message = (Array.isArray(data) ? data : [data]).find((m) => m && m.id === id) ?? null;
              finish(null, { status, message, sessionId });
            } catch (error) {
              finish(error as Error);
            }
          }, (error: Error) => finish(error));
          return;
        }
        res.resume();
        finish(new InvalidAnswer(status, `unexpected content type "${type}"`));
      });
      req.end(payload);
    });
  }
}

/** An answer body as text; rejects past `max` bytes (the socket is dropped). */
async function readText(res: http.IncomingMessage, max: number): Promise<string> {
  const text = await readBodyText(res, max, 'destroy');
  if (text === null) throw new InvalidAnswer(res.statusCode ?? 0, `the answer is larger than ${max} bytes`);
  return text;
}

class HandshakeTimeout extends Error {
  constructor() {
    super('the upstream did not finish the MCP handshake in time');
  }
}

function classify(error: unknown): ForwardResult {
  if (error instanceof HttpAnswerError) return { kind: 'http_error', httpStatus: error.status, message: error.message };
  if (error instanceof InvalidAnswer) return { kind: 'invalid_response', httpStatus: error.status || null, message: error.message };
  // Not the parser's message: it quotes the body, which may echo a secret from the arguments.
  if (error instanceof SyntaxError) return { kind: 'invalid_response', httpStatus: null, message: 'the answer is not JSON' };
  return { kind: 'unreachable', message: errorText(error) };
}

/** Waits for `promise`, or rejects as soon as the deadline passes. */
function untilDeadline<T>(promise: Promise<T>, deadline: Deadline): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const unregister = deadline.onExpire(() => reject(new DeadlinePassed()));
    promise.then(
      (v) => {
        unregister();
        resolve(v);
      },
      (e: unknown) => {
        unregister();
        reject(e);
      },
    );
  });
}

class InvalidAnswer extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------------------
// SDK forwarder: the official Client over StreamableHTTPClientTransport, one connected client per upstream.

/**
 * Forwards through the official MCP SDK `Client`, kept connected per upstream (URL + credentials), so
 * each call is one request after the first. Validates every answer with the SDK's schemas. Kept as the
 * reference implementation the benchmark compares the lean forwarder with.
 */
export class SdkClientForwarder implements UpstreamForwarder {
  private readonly clients = new Map<string, Promise<Client>>();

  async callTool(target: UpstreamCallTarget, params: { name: string; arguments: Record<string, unknown> }, timeoutMs: number): Promise<ForwardResult> {
    const timeout = new TimeoutSignal(timeoutMs);
    try {
      const client = await this.client(target);
      const result = await client.callTool(params, undefined, { timeout: timeoutMs + 1000, signal: timeout.signal });
      return { kind: 'result', httpStatus: 200, result };
    } catch (error) {
      if (timeout.timedOut) return { kind: 'timeout', timeoutMs };
      if (error instanceof StreamableHTTPError) {
        if (error.code === -1) return { kind: 'invalid_response', httpStatus: null, message: error.message };
        // The transport lost its footing: start over with a new client next time.
        this.drop(target);
        return { kind: 'http_error', httpStatus: error.code ?? 502, message: error.message };
      }
      if (error instanceof McpError && error.code !== ErrorCode.ConnectionClosed) return { kind: 'rpc_error', httpStatus: 200, code: error.code, message: error.message };
      this.drop(target);
      return { kind: 'unreachable', message: errorText(error) };
    } finally {
      timeout.clear();
    }
  }

  async close(): Promise<void> {
    const clients = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(clients.map(async (c) => (await c.catch(() => null))?.close().catch(() => {})));
  }

  private drop(target: UpstreamCallTarget): void {
    const key = JSON.stringify([target.url, target.authorization]);
    const pending = this.clients.get(key);
    this.clients.delete(key);
    void pending?.then((c) => c.close()).catch(() => {});
  }

  private client(target: UpstreamCallTarget): Promise<Client> {
    const key = JSON.stringify([target.url, target.authorization]);
    let pending = this.clients.get(key);
    if (!pending) {
      pending = (async () => {
        const transport = new StreamableHTTPClientTransport(new URL(target.url), {
          requestInit: target.authorization ? { headers: { Authorization: target.authorization } } : undefined,
        });
        const client = new Client(CLIENT_INFO, { capabilities: {} });
        await client.connect(transport);
        return client;
      })();
      this.clients.set(key, pending);
      pending.catch(() => {
        if (this.clients.get(key) === pending) this.clients.delete(key);
      });
    }
    return pending;
  }
}
