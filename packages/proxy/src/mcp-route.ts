import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import {
  LATEST_PROTOCOL_VERSION,
  SUPPORTED_PROTOCOL_VERSIONS,
  isJSONRPCErrorResponse,
  isJSONRPCNotification,
  isJSONRPCRequest,
  isJSONRPCResultResponse,
  type JSONRPCRequest,
} from '@modelcontextprotocol/sdk/types.js';
import { UnavailableError, looksLikeCredential, type Caller, type Logger, type ProxyService, type ToolCallVerdict } from '@wicket/core';
import { readBodyText } from './body.ts';
import { RpcCode, rpcError, rpcResult, type JsonRpcId, type McpAnswer } from './jsonrpc.ts';
import type { ForwardResult, UpstreamForwarder } from './upstream.ts';

/** Counters and histograms the route reports to (prom-client objects fit; every one is optional). */
export interface ProxyMetrics {
  proxyRequests?: { inc(labels: { outcome: string }): void };
  decisionSeconds?: { observe(value: number): void };
  upstreamSeconds?: { observe(labels: { outcome: string }, value: number): void };
  auditBatchRows?: { observe(value: number): void };
  auditOutcomeRows?: { observe(value: number): void };
}

export interface McpRouteOptions {
  service: ProxyService;
  forwarder: UpstreamForwarder;
  logger: Logger;
  metrics: ProxyMetrics;
  upstreamTimeoutMs: number;
  /** Proxies in front of Wicket whose X-Forwarded-For entries are believed; 0 = the socket's address only. */
  trustedProxyHops: number;
  maxBodyBytes: number;
  /** Retry-After of a 503. */
  unavailableRetryAfterSeconds: number;
  /**
   * Most requests at once between their arrival and their decision (key lookup, decision, audit commit):
   * past it a request is answered 503 at once instead of queueing for the database. Calls already
   * forwarded and waiting on their upstream do not count.
   */
  maxPendingDecisions: number;
  serverVersion: string;
}

const SERVER_NAME = 'wicket';

type Outcome =
  | 'parse_error'
  | 'invalid_request'
  | 'unauthenticated'
  | 'rate_limited'
  | 'forbidden'
  | 'invalid_tool_name'
  | 'unknown_service'
  | 'unknown_tool'
  | 'service_not_enabled'
  | 'denied'
  | 'forwarded'
  | 'upstream_error'
  | 'upstream_timeout'
  | 'unavailable'
  | 'overloaded'
  | 'client_aborted'
  | 'initialize'
  | 'tools_list'
  | 'ping'
  | 'notification'
  | 'method_not_found'
  | 'internal_error';

/** One HTTP request to `/mcp`, as the handlers need it from whichever server received it. */
export interface McpRequest {
  header(name: string): string | undefined;
  /** The peer address of the connection. */
  socketAddress: string | null;
  /** The body as text; null once it passes `max` bytes (the rest is not read). */
  readBody(max: number): Promise<string | null>;
}

/** The socket's address, or with trusted proxies the address the nearest untrusted hop reported. */
function callerIp(req: McpRequest, trustedHops: number): string | null {
  const socket = req.socketAddress;
  if (trustedHops <= 0) return socket;
  const hops = (req.header('x-forwarded-for') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (hops.length === 0) return socket;
  return hops[Math.max(0, hops.length - trustedHops)] ?? socket;
}

/** A Node request as an McpRequest (the server's fast path for POST /mcp: no fetch Request in between). */
export function nodeMcpRequest(incoming: IncomingMessage): McpRequest {
  return {
    header(name) {
      const v = incoming.headers[name.toLowerCase()];
      return Array.isArray(v) ? v.join(', ') : v;
    },
    socketAddress: incoming.socket?.remoteAddress ?? null,
    readBody: (max) => readBodyText(incoming, max, 'drain'),
  };
}

/** A fetch Request as an McpRequest (Hono's route, in-process handlers). */
export function fetchMcpRequest(request: Request, socketAddress: string | null, incoming?: IncomingMessage): McpRequest {
  return {
    header: (name) => request.headers.get(name) ?? undefined,
    socketAddress,
    // Under @hono/node-server, straight from the socket's message unless something read it already.
    readBody: (max) => (incoming && !incoming.readableDidRead ? readBodyText(incoming, max, 'drain') : readStream(request.body, max)),
  };
}

/** A WHATWG body stream as text; null past `max` bytes (read as a stream, so a chunked flood stops early). */
async function readStream(body: ReadableStream<Uint8Array> | null, max: number): Promise<string | null> {
  if (!body) return '';
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (true) {
    const { value, done } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Every string in the arguments long enough to be recognised if an upstream echoes it back. */
function argumentStrings(value: unknown, out: string[] = [], depth = 0): string[] {
  if (depth > 32) return out;
  if (typeof value === 'string') {
    if (value.length >= 4) out.push(value);
  } else if (Array.isArray(value)) {
    for (const v of value) argumentStrings(v, out, depth + 1);
  } else if (value && typeof value === 'object') {
    for (const v of Object.values(value)) argumentStrings(v, out, depth + 1);
  }
  return out;
}

/**
 * An upstream's error text, fit for the audit entry: withheld when it repeats any argument value (it
 * could be a secret the redaction kept out of the stored arguments) or looks like a credential.
 */
function storableUpstreamMessage(message: string, args: Record<string, unknown>): string {
  const text = message.slice(0, 500);
  if (looksLikeCredential(message) || argumentStrings(args).some((s) => message.includes(s))) return '(message withheld: it repeats the call\'s arguments)';
  return text;
}

export function createMcpHandlers(options: McpRouteOptions) {
  const { service, forwarder, logger, metrics } = options;
  /** Requests between arrival and decision (see maxPendingDecisions). */
  let pending = 0;
  const count = (outcome: Outcome) => metrics.proxyRequests?.inc({ outcome });
  const unavailable = (id: JsonRpcId, error: UnavailableError) => {
    count('unavailable');
    return rpcError(503, id, RpcCode.InternalError, `Service unavailable: ${error.message}. The call was not forwarded; retry later.`, {
      headers: { 'Retry-After': String(options.unavailableRetryAfterSeconds) },
    });
  };

  function unauthorized(id: JsonRpcId): McpAnswer {
    count('unauthenticated');
    return rpcError(401, id, RpcCode.InvalidRequest, 'Unauthorized: send Authorization: Bearer <member key>', {
      headers: { 'WWW-Authenticate': 'Bearer realm="wicket"' },
    });
  }

  function initialize(request: JSONRPCRequest): McpAnswer {
    count('initialize');
    const requested = (request.params as { protocolVersion?: unknown } | undefined)?.protocolVersion;
    const protocolVersion = typeof requested === 'string' && SUPPORTED_PROTOCOL_VERSIONS.includes(requested) ? requested : LATEST_PROTOCOL_VERSION;
    return rpcResult(
      request.id,
      {
        protocolVersion,
        capabilities: { tools: { listChanged: false } },
        serverInfo: { name: SERVER_NAME, version: options.serverVersion },
        instructions: 'Tools are named <service>__<tool>. Every call is authorised by the agent\'s policies and recorded in the audit log.',
      },
      // Stateless: the id only labels the audit entries of this client's session; any id is accepted back.
      { 'Mcp-Session-Id': randomUUID() },
    );
  }

  async function listTools(request: JSONRPCRequest, caller: Caller): Promise<McpAnswer> {
    const tools = await service.listTools(caller);
    count('tools_list');
    return rpcResult(request.id, {
      tools: tools.map((t) => ({
        name: t.name,
        description: t.description,
        inputSchema: t.inputSchema?.type === 'object' ? t.inputSchema : { type: 'object', ...t.inputSchema },
        annotations: { readOnlyHint: t.tier === 'read', destructiveHint: t.tier === 'destructive', openWorldHint: true },
      })),
    });
  }

  function deniedAnswer(id: JsonRpcId, verdict: Extract<ToolCallVerdict, { kind: 'refused' | 'denied' }>, name: string): McpAnswer {
    const status = verdict.kind === 'refused' ? 403 : 200;
    count(verdict.kind === 'refused' ? 'forbidden' : verdict.rule === 'service_not_enabled' ? 'service_not_enabled' : 'denied');
    return rpcError(status, id, RpcCode.InvalidRequest, `Call to ${name} denied: ${verdict.reason}`, {
      data: { decision: 'DENY', reason: verdict.reason, auditEntryId: verdict.entryId },
    });
  }

  async function callTool(req: McpRequest, request: JSONRPCRequest, caller: Caller, receivedAt: number, decided: () => void): Promise<McpAnswer> {
    const params = request.params as { name?: unknown; arguments?: unknown } | undefined;
    const name = params?.name;
    const args = params?.arguments ?? {};
    if (typeof name !== 'string' || args === null || typeof args !== 'object' || Array.isArray(args)) {
      if (!(await service.fresh(caller))) return unauthorized(request.id);
      count('invalid_tool_name');
      return rpcError(400, request.id, RpcCode.InvalidParams, 'tools/call needs params.name (a string "<service>__<tool>") and params.arguments (an object, if given)');
    }
    const toolArgs = args as Record<string, unknown>;
    const sessionId = req.header('mcp-session-id') ?? null;
    let verdict: ToolCallVerdict;
    try {
      verdict = await service.authorizeToolCall(caller, { name, arguments: toolArgs }, { sessionId, callerIp: callerIp(req, options.trustedProxyHops), receivedAt });
    } finally {
      decided();
    }
    switch (verdict.kind) {
      case 'unauthenticated':
        return unauthorized(request.id);
      case 'invalid_name':
        count('invalid_tool_name');
        return rpcError(400, request.id, RpcCode.InvalidParams, verdict.message);
      case 'unknown_service':
        count('unknown_service');
        return rpcError(200, request.id, RpcCode.MethodNotFound, verdict.message);
      case 'unknown_tool':
        count('unknown_tool');
        return rpcError(200, request.id, RpcCode.InvalidParams, verdict.message);
      case 'refused':
      case 'denied':
        metrics.decisionSeconds?.observe((verdict.decidedAt - receivedAt) / 1000);
        logger.debug({ entryId: verdict.entryId, agentId: caller.agentId, memberId: caller.memberId, keyId: caller.keyId, rule: verdict.rule }, 'proxy: call denied');
        return deniedAnswer(request.id, verdict, name);
      case 'allowed':
        break;
    }
    metrics.decisionSeconds?.observe((verdict.decidedAt - receivedAt) / 1000);

    const { upstream } = verdict;
    const forwardedAt = performance.now();
    const result: ForwardResult = upstream.url
      ? await forwarder.callTool({ url: upstream.url, authorization: upstream.authorization }, { name: upstream.tool, arguments: toolArgs }, options.upstreamTimeoutMs)
      : { kind: 'unreachable', message: `the ${upstream.service} connector has no upstream URL` };
    const finished = performance.now();
    const upstreamOutcome = result.kind === 'result' ? 'ok' : result.kind;
    metrics.upstreamSeconds?.observe({ outcome: upstreamOutcome }, (finished - forwardedAt) / 1000);

    const durationMs = finished - receivedAt;
    // Ids and outcomes only: never arguments, results or upstream messages (they may carry secrets).
    const log = { entryId: verdict.entryId, agentId: caller.agentId, memberId: caller.memberId, keyId: caller.keyId, service: upstream.service, tool: upstream.tool, upstream: upstreamOutcome, ms: Math.round(durationMs) };
    const fail = (status: 502 | 504, upstreamStatus: string | null, upstreamError: string, message: string) => {
      logger.warn({ ...log, upstreamStatus }, 'proxy: upstream call failed');
      service.recordOutcome(verdict.entryId, { durationMs, upstreamStatus, upstreamError });
      count(status === 504 ? 'upstream_timeout' : 'upstream_error');
      return rpcError(status, request.id, RpcCode.InternalError, message, { data: { service: upstream.service, auditEntryId: verdict.entryId } });
    };
    switch (result.kind) {
      case 'result': {
        const isError = (result.result as { isError?: unknown } | null)?.isError === true;
        service.recordOutcome(verdict.entryId, { durationMs, upstreamStatus: String(result.httpStatus), upstreamError: isError ? 'the tool reported an error (isError)' : null });
        count('forwarded');
        logger.debug(log, 'proxy: call forwarded');
        return rpcResult(request.id, result.result);
      }
      case 'rpc_error':
        return fail(
          502,
          String(result.httpStatus),
          `JSON-RPC error ${result.code}: ${storableUpstreamMessage(result.message, toolArgs)}`,
          `Upstream ${upstream.service} returned an error (${result.code}): ${result.message}`,
        );
      case 'http_error':
        return fail(502, String(result.httpStatus), `HTTP ${result.httpStatus}`, `Upstream ${upstream.service} failed with HTTP ${result.httpStatus}.`);
      case 'invalid_response':
        return fail(502, result.httpStatus === null ? null : String(result.httpStatus), `invalid answer: ${result.message}`, `Upstream ${upstream.service} sent an answer that is not MCP: ${result.message}`);
      case 'unreachable':
        return fail(502, null, `unreachable: ${result.message}`, `Upstream ${upstream.service} is unreachable.`);
      case 'timeout':
        return fail(504, null, `timeout after ${result.timeoutMs} ms`, `Upstream ${upstream.service} did not answer within ${result.timeoutMs} ms.`);
    }
  }

  /** POST /mcp: the steps of spec §4, in order. */
  async function post(req: McpRequest): Promise<McpAnswer> {
    const receivedAt = performance.now();
    const type = req.header('content-type');
    if (type && !/^application\/json\b/i.test(type.trim())) {
      count('invalid_request');
      return rpcError(415, null, RpcCode.InvalidRequest, 'Content-Type must be application/json');
    }
    const declared = Number(req.header('content-length') ?? NaN);
    let text: string | null;
    try {
      text = declared > options.maxBodyBytes ? null : await req.readBody(options.maxBodyBytes);
    } catch (error) {
      // The client went away (or broke the body) while sending it: nobody is left to answer.
      count('client_aborted');
      logger.debug({ err: { message: error instanceof Error ? error.message : String(error) } }, 'proxy: request body not received');
      return rpcError(400, null, RpcCode.InvalidRequest, 'The request body could not be read');
    }
    if (text === null) {
      count('invalid_request');
      return rpcError(413, null, RpcCode.InvalidRequest, `Request body larger than ${options.maxBodyBytes} bytes`);
    }
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      count('parse_error');
      return rpcError(400, null, RpcCode.ParseError, 'Parse error: the body is not valid JSON');
    }
    if (Array.isArray(message)) {
      // Batching left MCP in 2025-06-18 and no SDK client sends it; one message per POST keeps one audit entry per answer.
      count('invalid_request');
      return rpcError(400, null, RpcCode.InvalidRequest, 'Batch requests are not supported: send one JSON-RPC message per request');
    }
    const isRequest = isJSONRPCRequest(message);
    const isNotification = !isRequest && isJSONRPCNotification(message);
    if (!isRequest && !isNotification && !isJSONRPCResultResponse(message) && !isJSONRPCErrorResponse(message)) {
      count('invalid_request');
      const id = (message as { id?: unknown } | null)?.id;
      return rpcError(400, typeof id === 'string' || typeof id === 'number' ? id : null, RpcCode.InvalidRequest, 'Invalid Request: not a JSON-RPC 2.0 message');
    }
    const id: JsonRpcId = isRequest ? (message as JSONRPCRequest).id : null;

    // Load shedding: with the database as the bottleneck, a queue past this only adds latency to every
    // call behind it. Shed requests touch nothing and leave no entry (no decision was made).
    if (pending >= options.maxPendingDecisions) {
      count('overloaded');
      return rpcError(503, id, RpcCode.InternalError, 'Service overloaded: too many calls are waiting for a decision. The call was not forwarded; retry shortly.', {
        headers: { 'Retry-After': '1' },
      });
    }
    pending++;
    let decided = false;
    const release = () => {
      if (!decided) {
        decided = true;
        pending--;
      }
    };
    try {
      // For a tools/call, the key lookup also reads the call's route: one round trip before the decision.
      const toolName = isRequest && (message as JSONRPCRequest).method === 'tools/call' ? (message as JSONRPCRequest).params?.name : undefined;
      const caller = await service.authenticate(req.header('authorization'), typeof toolName === 'string' ? toolName : undefined);
      if (!caller) return unauthorized(id);
      const token = service.takeToken(caller);
      if (!token.ok) {
        // A caller from the cache is read again first: a key revoked meanwhile answers 401, as it would have.
        if (!(await service.fresh(caller))) return unauthorized(id);
        count('rate_limited');
        return rpcError(429, id, RpcCode.InvalidRequest, `Rate limit exceeded for this member key: retry after ${token.retryAfterSeconds} s`, {
          headers: { 'Retry-After': String(token.retryAfterSeconds) },
        });
      }

      if (!isRequest) {
        // Notifications (initialized, cancelled…) and answers to requests we never send: accepted, nothing to say.
        count('notification');
        return { status: 202, headers: {}, body: null };
      }
      const request = message as JSONRPCRequest;
      if (request.method === 'tools/call') return await callTool(req, request, caller, receivedAt, release);

      const refusal = service.refusal(caller);
      if (refusal) {
        count('forbidden');
        return rpcError(403, id, RpcCode.InvalidRequest, refusal);
      }
      switch (request.method) {
        case 'initialize':
          return initialize(request);
        case 'ping':
          count('ping');
          return rpcResult(id, {});
        case 'tools/list':
          return await listTools(request, caller);
        default:
          count('method_not_found');
          return rpcError(200, id, RpcCode.MethodNotFound, `Method not found: ${request.method.slice(0, 100)}`);
      }
    } catch (error) {
      if (error instanceof UnavailableError) return unavailable(id, error);
      count('internal_error');
      logger.error({ err: { message: error instanceof Error ? error.message : String(error), stack: error instanceof Error ? error.stack : undefined } }, 'proxy: unexpected error');
      return rpcError(500, id, RpcCode.InternalError, 'Internal error');
    } finally {
      release();
    }
  }

  /** GET (no server-initiated stream) and DELETE (no session to end): 405, which MCP clients accept. */
  function methodNotAllowed(): McpAnswer {
    return rpcError(405, null, RpcCode.InvalidRequest, 'Method not allowed: POST JSON-RPC messages to /mcp', { headers: { Allow: 'POST' } });
  }

  return { post, methodNotAllowed };
}
