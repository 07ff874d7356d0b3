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

export function rpcResult(id: JsonRpcId, result: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ jsonrpc: '2.0', id, result }), { status: 200, headers: { ...JSON_HEADERS, ...headers } });
}

export function rpcError(
  status: number,
  id: JsonRpcId,
  code: number,
  message: string,
  options: { data?: unknown; headers?: Record<string, string> } = {},
): Response {
  const error = options.data === undefined ? { code, message } : { code, message, data: options.data };
  return new Response(JSON.stringify({ jsonrpc: '2.0', id, error }), { status, headers: { ...JSON_HEADERS, ...options.headers } });
}
