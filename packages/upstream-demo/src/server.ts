import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  CallToolRequestSchema,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
  type CallToolResult,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import type { CatalogTool, ConnectorCatalog } from './catalog.ts';
import { fakeResult } from './fake-results.ts';

/**
 * Tool argument that makes the demo upstream misbehave, for the proxy's failure paths (spec §4, forward step):
 * - `"error"`: a tool result with `isError: true` (the upstream answered, the tool failed);
 * - `"rpc-error"`: a JSON-RPC error response (-32603);
 * - `"http-500"`: HTTP 500 with a non-JSON body, before any MCP processing;
 * - `"disconnect"`: the TCP connection is destroyed without an answer;
 * - `"slow"`: the answer comes after `slowMs` (or the number in the `__slowMs` argument).
 * The call is recorded and `onCall` awaited before any of these happen.
 */
export const FAIL_ARGUMENT = '__fail';
export const SLOW_MS_ARGUMENT = '__slowMs';
export type FailureMode = 'error' | 'rpc-error' | 'http-500' | 'disconnect' | 'slow';
const FAILURE_MODES: readonly FailureMode[] = ['error', 'rpc-error', 'http-500', 'disconnect', 'slow'];

export interface UpstreamCall {
  tool: string;
  /** The `arguments` of the `tools/call` request, as received. */
  arguments: unknown;
  /** Request headers, lower-case names. */
  headers: Record<string, string>;
  receivedAt: Date;
}

export interface UpstreamRequest {
  httpMethod: string;
  /** JSON-RPC method of the (first) message, or null when there was no parsable body. */
  rpcMethod: string | null;
  headers: Record<string, string>;
  /** False when rejected for a wrong `Authorization` header. */
  authorized: boolean;
}

/** A value to return as the tool's result: a `CallToolResult` as is, a string as text, anything else as JSON text. */
export type ToolBehaviour = (tool: string, args: Record<string, unknown>) => unknown;

export interface UpstreamServerOptions {
  catalog: ConnectorCatalog;
  /** 0 or absent: any free port. */
  port?: number;
  host?: '127.0.0.1';
  /** When set, requests whose `Authorization` header differs get 401, as a real upstream would. */
  expectedAuthorization?: string;
  /** Awaited after the call is recorded and before any result is produced. A throw becomes a JSON-RPC error. */
  onCall?: (call: UpstreamCall) => void | Promise<void>;
  /** Replaces the built-in fake results. Returning `undefined` falls back to them. */
  behaviour?: ToolBehaviour;
  /** Delay of `__fail: "slow"`. Default 35 s, beyond the proxy's 30 s upstream timeout. */
  slowMs?: number;
  /** Answer with `application/json` instead of an SSE stream (both are valid Streamable HTTP). Default false. */
  jsonResponse?: boolean;
}

export interface UpstreamServer {
  /** `http://127.0.0.1:PORT/mcp` */
  url: string;
  port: number;
  /** Every `tools/call` that got past authentication, in arrival order. Clear with `calls.length = 0`. */
  calls: UpstreamCall[];
  /** Every HTTP request to `/mcp`, including rejected ones. */
  requests: UpstreamRequest[];
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 4 * 1024 * 1024;
const validator = new AjvJsonSchemaValidator();

function flattenHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

function sendJsonRpcError(res: ServerResponse, status: number, code: number, message: string, extraHeaders: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...extraHeaders });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY_BYTES) throw new Error('body too large');
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function messagesOf(body: unknown): Array<{ method?: unknown; params?: unknown }> {
  const list = Array.isArray(body) ? body : [body];
  return list.filter((m): m is { method?: unknown; params?: unknown } => m !== null && typeof m === 'object');
}

function argumentsOf(params: unknown): Record<string, unknown> | undefined {
  const args = (params as { arguments?: unknown } | undefined)?.arguments;
  return args !== null && typeof args === 'object' && !Array.isArray(args) ? (args as Record<string, unknown>) : undefined;
}

function failureOf(args: Record<string, unknown> | undefined): FailureMode | undefined {
  const mode = args?.[FAIL_ARGUMENT];
  return FAILURE_MODES.find((m) => m === mode);
}

function toMcpTool(tool: CatalogTool): Tool {
  return {
    name: tool.name,
    description: tool.description,
    inputSchema: tool.inputSchema as Tool['inputSchema'],
    annotations: {
      readOnlyHint: tool.tier === 'read',
      destructiveHint: tool.tier === 'destructive',
      idempotentHint: tool.tier === 'read',
      openWorldHint: true,
    },
  };
}

function toolError(message: string): CallToolResult {
  return { content: [{ type: 'text', text: message }], isError: true };
}

/** A tool's return value as an MCP tools/call result (text content; a result already in that shape as is). */
export function toCallToolResult(value: unknown): CallToolResult {
  if (value !== null && typeof value === 'object' && Array.isArray((value as { content?: unknown }).content)) return value as CallToolResult;
  return { content: [{ type: 'text', text: typeof value === 'string' ? value : JSON.stringify(value, null, 2) }] };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Starts a real MCP server (official SDK, Streamable HTTP, stateless) on loopback that serves `catalog`'s
 * tools under their unprefixed names and answers calls with plausible fake results.
 */
export async function startUpstreamServer(options: UpstreamServerOptions): Promise<UpstreamServer> {
  const { catalog } = options;
  const slowMs = options.slowMs ?? 35_000;
  const toolsByName = new Map(catalog.tools.map((t) => [t.name, t]));
  const validators = new Map(catalog.tools.map((t) => [t.name, validator.getValidator(t.inputSchema as Parameters<typeof validator.getValidator>[0])]));
  const calls: UpstreamCall[] = [];
  const requests: UpstreamRequest[] = [];
  const shutdown = new AbortController();
  let sequence = 41;
  const resultContext = { nextNumber: () => ++sequence };

  async function receiveCall(tool: string, args: unknown, headers: Record<string, string>): Promise<void> {
    const call: UpstreamCall = { tool, arguments: args, headers, receivedAt: new Date() };
    calls.push(call);
    await options.onCall?.(call);
  }

  async function callTool(name: string, args: Record<string, unknown> | undefined, signal: AbortSignal): Promise<CallToolResult> {
    const failure = failureOf(args);
    if (failure === 'rpc-error') throw new McpError(ErrorCode.InternalError, `${catalog.name} failed to run ${name} (simulated)`);
    if (failure === 'error') return toolError(`${catalog.name} API error: 502 Bad Gateway while running ${name} (simulated)`);
    if (failure === 'slow') {
      const ms = typeof args?.[SLOW_MS_ARGUMENT] === 'number' ? (args[SLOW_MS_ARGUMENT] as number) : slowMs;
      await sleep(ms, AbortSignal.any([signal, shutdown.signal]));
    }
    const tool = toolsByName.get(name);
    if (!tool) return toolError(`Tool ${name} not found`);
    const check = validators.get(name)!(args ?? {});
    if (!check.valid) return toolError(`Input validation error: Invalid arguments for tool ${name}: ${check.errorMessage}`);
    try {
      const custom = options.behaviour ? await options.behaviour(name, args ?? {}) : undefined;
      return toCallToolResult(custom !== undefined ? custom : fakeResult(catalog.service, name, args ?? {}, resultContext));
    } catch (error) {
      return toolError(error instanceof Error ? error.message : String(error));
    }
  }

  // One McpServer per request: the SDK's stateless pattern (examples/server/simpleStatelessStreamableHttp).
  // The catalog is served through the low-level handlers because its schemas are JSON Schema, not zod, and
  // because arguments must reach `calls` exactly as sent (McpServer.registerTool would parse and strip them).
  function buildMcpServer(headers: Record<string, string>): McpServer {
    const mcp = new McpServer({ name: `${catalog.service}-demo`, version: '1.0.0' }, { capabilities: { tools: { listChanged: false } } });
    mcp.server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: catalog.tools.map(toMcpTool) }));
    mcp.server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
      await receiveCall(request.params.name, request.params.arguments, headers);
      return callTool(request.params.name, argumentsOf(request.params), extra.signal);
    });
    return mcp;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path !== '/mcp') return sendJsonRpcError(res, 404, ErrorCode.InvalidRequest, 'Not found');
    const headers = flattenHeaders(req);
    const httpMethod = req.method ?? 'GET';

    if (options.expectedAuthorization !== undefined && req.headers.authorization !== options.expectedAuthorization) {
      requests.push({ httpMethod, rpcMethod: null, headers, authorized: false });
      return sendJsonRpcError(res, 401, -32001, 'Unauthorized', { 'www-authenticate': 'Bearer realm="upstream-demo"' });
    }
    if (httpMethod !== 'POST') {
      // Stateless: no standalone SSE stream (GET) and no session to delete (DELETE).
      requests.push({ httpMethod, rpcMethod: null, headers, authorized: true });
      return sendJsonRpcError(res, 405, ErrorCode.ConnectionClosed, 'Method not allowed.', { allow: 'POST' });
    }

    let body: unknown;
    try {
      body = JSON.parse(await readBody(req));
    } catch {
      requests.push({ httpMethod, rpcMethod: null, headers, authorized: true });
      return sendJsonRpcError(res, 400, ErrorCode.ParseError, 'Parse error');
    }
    const messages = messagesOf(body);
    const first = messages[0]?.method;
    requests.push({ httpMethod, rpcMethod: typeof first === 'string' ? first : null, headers, authorized: true });

    // Failures below the MCP layer: decided before the SDK writes anything.
    for (const message of messages) {
      if (message.method !== 'tools/call') continue;
      const args = argumentsOf(message.params);
      const failure = failureOf(args);
      if (failure !== 'http-500' && failure !== 'disconnect') continue;
      await receiveCall(String((message.params as { name?: unknown }).name), (message.params as { arguments?: unknown }).arguments, headers);
      if (failure === 'disconnect') {
        req.socket.destroy();
        return;
      }
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('Internal Server Error');
      return;
    }

    const mcp = buildMcpServer(headers);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: options.jsonResponse ?? false });
    res.on('close', () => {
      void transport.close();
      void mcp.close();
    });
    await mcp.connect(transport);
    await transport.handleRequest(req, res, body);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendJsonRpcError(res, 500, ErrorCode.InternalError, error instanceof Error ? error.message : 'Internal error');
      else res.destroy();
    });
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}/mcp`,
    port,
    calls,
    requests,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        shutdown.abort(new Error('upstream-demo server closed'));
        server.close((error) => (error ? reject(error) : resolve()));
        // After close(): stops accepting, then drops keep-alive and in-flight (slow) connections.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
