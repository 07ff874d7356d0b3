import { ErrorCode } from '@modelcontextprotocol/sdk/types.js';

export type JsonRpcId = string | number | null;

/** JSON-RPC error codes the proxy answers with (spec §4 table). */
export const RpcCode = {
  ParseError: ErrorCode.ParseError, // -32700
  InvalidRequest: ErrorCode.InvalidRequest, // -32600
  MethodNotFound: ErrorCode.MethodNotFound, // -32601
  InvalidParams: ErrorCode.InvalidParams, // -32602
  InternalError: ErrorCode.InternalError, // -32603
} as const;

const JSON_HEADERS = { 'Content-Type': 'application/json' };

/** An answer of the proxy, independent of the HTTP layer that sends it (Node's response or a fetch Response). */
export interface McpAnswer {
  status: number;
  headers: Record<string, string>;
  /** null: no body (202) */
  body: string | null;
}

export function rpcResult(id: JsonRpcId, result: unknown, headers: Record<string, string> = {}): McpAnswer {
  return { status: 200, headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify({ jsonrpc: '2.0', id, result }) };
}

export function rpcError(
  status: number,
  id: JsonRpcId,
  code: number,
  message: string,
  options: { data?: unknown; headers?: Record<string, string> } = {},
): McpAnswer {
  const error = options.data === undefined ? { code, message } : { code, message, data: options.data };
  return { status, headers: { ...JSON_HEADERS, ...options.headers }, body: JSON.stringify({ jsonrpc: '2.0', id, error }) };
}

export function toResponse(answer: McpAnswer): Response {
  return new Response(answer.body, { status: answer.status, headers: answer.headers });
}
