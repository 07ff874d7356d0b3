import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ErrorCode, LATEST_PROTOCOL_VERSION, McpError, SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/sdk/types.js';

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

// ---------------------------------------------------------------------------------------------------
// Lean forwarder: plain fetch, one POST per call once the upstream session is initialised.

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

/** Reads JSON-RPC messages from an SSE body until `wanted` answers; other messages (notifications) are skipped. */
async function readSseAnswer(body: ReadableStream<Uint8Array>, wanted: number): Promise<RpcMessage | null> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    while (true) {
      const { value, done } = await reader.read();
      buffer += value ? decoder.decode(value, { stream: true }) : decoder.decode();
      let end: number;
      while ((end = buffer.search(/\r?\n\r?\n/)) !== -1) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + (buffer.startsWith('\r\n', end) ? 4 : 2));
        const data = block
          .split(/\r?\n/)
          .filter((line) => line.startsWith('data:'))
          .map((line) => line.slice(line.startsWith('data: ') ? 6 : 5))
          .join('\n');
        if (!data) continue;
        const message = JSON.parse(data) as RpcMessage;
        if (message && message.id === wanted && ('result' in message || 'error' in message)) return message;
      }
      if (done) return null;
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

/**
 * Forwards with `fetch` (undici, keep-alive): per upstream (URL + credentials) it initialises an MCP
 * session once, remembers the negotiated protocol version and any `Mcp-Session-Id`, then sends each call
 * as one POST and reads a JSON or SSE answer. A session the upstream forgot (404) is initialised again
 * once. This is what the official client does on the wire, without its per-message schema validation.
 */
export class FetchForwarder implements UpstreamForwarder {
  private readonly sessions = new Map<string, Promise<Session>>();
  private nextId = 1;

  async callTool(target: UpstreamCallTarget, params: { name: string; arguments: Record<string, unknown> }, timeoutMs: number): Promise<ForwardResult> {
    const timeout = new TimeoutSignal(timeoutMs);
    try {
      for (let attempt = 0; ; attempt++) {
        const session = await abortable(this.session(target, timeoutMs), timeout.signal);
        const id = this.nextId++;
        try {
          const { status, message } = await this.post(target, session, { jsonrpc: '2.0', id, method: 'tools/call', params }, id, timeout.signal);
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
      if (timeout.timedOut || error instanceof HandshakeTimeout) return { kind: 'timeout', timeoutMs };
      return classify(error);
    } finally {
      timeout.clear();
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
  }

  private key(target: UpstreamCallTarget): string {
    return JSON.stringify({ url: target.url, authorization: target.authorization });
  }

  /** The upstream session, initialised once and shared by concurrent calls (under its own deadline, not theirs). */
  private session(target: UpstreamCallTarget, timeoutMs: number): Promise<Session> {
    const key = this.key(target);
    let pending = this.sessions.get(key);
    if (!pending) {
      const deadline = new TimeoutSignal(timeoutMs);
      pending = this.initialize(target, deadline.signal)
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

  private async initialize(target: UpstreamCallTarget, signal: AbortSignal): Promise<Session> {
    const id = this.nextId++;
    const request = { jsonrpc: '2.0', id, method: 'initialize', params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: CLIENT_INFO } };
    // No MCP-Protocol-Version header before the version is negotiated.
    const { message, sessionId } = await this.post(target, { protocolVersion: '', sessionId: null }, request, id, signal);
    if (!message || message.error || !message.result) throw new HttpAnswerError(502, `the upstream refused to initialise: ${String(message?.error?.message ?? 'no answer')}`);
    const version = (message.result as { protocolVersion?: unknown }).protocolVersion;
    if (typeof version !== 'string' || !SUPPORTED_PROTOCOL_VERSIONS.includes(version)) throw new HttpAnswerError(502, `the upstream speaks an unsupported MCP version: ${String(version)}`);
    const session = { protocolVersion: version, sessionId };
    await this.post(target, session, { jsonrpc: '2.0', method: 'notifications/initialized' }, null, signal);
    return session;
  }

  private headers(target: UpstreamCallTarget, session: Session): Record<string, string> {
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    if (session.protocolVersion) headers['mcp-protocol-version'] = session.protocolVersion;
    if (session.sessionId) headers['mcp-session-id'] = session.sessionId;
    if (target.authorization) headers.authorization = target.authorization;
    return headers;
  }

  private async post(
    target: UpstreamCallTarget,
    session: Session,
    body: unknown,
    id: number | null,
    signal: AbortSignal,
  ): Promise<{ status: number; message: RpcMessage | null; sessionId: string | null }> {
    const response = await fetch(target.url, { method: 'POST', headers: this.headers(target, session), body: JSON.stringify(body), signal });
    const sessionId = response.headers.get('mcp-session-id') ?? session.sessionId;
    if (!response.ok) {
      const text = await response.text().catch(() => '');
      // An upstream may put a JSON-RPC error in a non-2xx answer; the status still says it failed.
      throw new HttpAnswerError(response.status, `HTTP ${response.status}${text ? `: ${text.slice(0, 200)}` : ''}`);
    }
    if (id === null || response.status === 202) {
      await response.body?.cancel();
      return { status: response.status, message: null, sessionId };
    }
    const type = (response.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
    if (type === 'text/event-stream' && response.body) {
      return { status: response.status, message: await readSseAnswer(response.body, id), sessionId };
    }
    if (type === 'application/json') {
      const data = (await response.json()) as RpcMessage | RpcMessage[];
      const message = (Array.isArray(data) ? data : [data]).find((m) => m && m.id === id) ?? null;
      return { status: response.status, message, sessionId };
    }
    await response.body?.cancel();
    throw new InvalidAnswer(response.status, `unexpected content type "${type}"`);
  }
}

class HandshakeTimeout extends Error {
  constructor() {
    super('the upstream did not finish the MCP handshake in time');
  }
}

function classify(error: unknown): ForwardResult {
  if (error instanceof HttpAnswerError) return { kind: 'http_error', httpStatus: error.status, message: error.message };
  if (error instanceof InvalidAnswer) return { kind: 'invalid_response', httpStatus: error.status, message: error.message };
  if (error instanceof SyntaxError) return { kind: 'invalid_response', httpStatus: null, message: `the answer is not JSON: ${error.message}` };
  return { kind: 'unreachable', message: errorText(error) };
}

/** Waits for `promise`, or rejects as soon as `signal` aborts. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
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
