import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { fakeResult, toCallToolResult, type ConnectorCatalog } from '@wicket/upstream-demo';

/**
 * A lean MCP server for benchmarks: Streamable HTTP, stateless, plain JSON answers, on node:http with no
 * per-request SDK objects. It answers `initialize`, `ping`, `tools/list` (the catalog) and `tools/call`
 * (the demo server's answer to `list_repositories`, built by the same functions), and
 * checks the Authorization header like the demo servers.
 *
 * Why: the proxy benchmark runs the load generator, the proxy, PostgreSQL and the upstream on the same two
 * cores. The SDK demo server (one McpServer and transport per request) costs ~1 ms of CPU per call here,
 * as much as the proxy itself, so at a fixed 1,000 calls/s it alone took half the machine and its queue
 * was in both the direct and the proxied figures. An upstream in production runs elsewhere; this one keeps
 * the measurement about the proxy. `BENCH_UPSTREAM=json|sse` still runs the SDK demo server.
 */
export async function startLeanUpstream(options: { catalog: ConnectorCatalog; expectedAuthorization: string }): Promise<{ url: string; close(): Promise<void> }> {
  // The demo server's own answer (the same fake result, wrapped the same way), serialised once.
  const callResult = JSON.stringify(toCallToolResult(fakeResult(options.catalog.service, 'list_repositories', { owner: 'acme' }, { nextNumber: () => 42 })));
  const toolsResult = JSON.stringify({
    tools: options.catalog.tools.map((t) => ({ name: t.name, description: t.description, inputSchema: t.inputSchema })),
  });

  const send = (res: ServerResponse, status: number, body: string | null) => {
    if (body === null) {
      res.writeHead(status, { 'content-length': '0' });
      res.end();
      return;
    }
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  const answer = (id: unknown, resultJson: string) => `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":${resultJson}}`;
  const error = (id: unknown, code: number, message: string) => JSON.stringify({ jsonrpc: '2.0', id: id ?? null, error: { code, message } });

  const handle = (req: IncomingMessage, res: ServerResponse, text: string) => {
    if (req.method !== 'POST') return send(res, 405, error(null, -32000, 'Method not allowed.'));
    if (req.headers.authorization !== options.expectedAuthorization) return send(res, 401, error(null, -32001, 'Unauthorized'));
    let message: { id?: unknown; method?: unknown; params?: { name?: unknown; protocolVersion?: unknown } };
    try {
      message = JSON.parse(text);
    } catch {
      return send(res, 400, error(null, -32700, 'Parse error'));
    }
    if (message.id === undefined) return send(res, 202, null); // a notification
    switch (message.method) {
      case 'initialize':
        return send(
          res,
          200,
          answer(
            message.id,
            JSON.stringify({
              protocolVersion: typeof message.params?.protocolVersion === 'string' ? message.params.protocolVersion : LATEST_PROTOCOL_VERSION,
              capabilities: { tools: { listChanged: false } },
              serverInfo: { name: `${options.catalog.service}-lean`, version: '1.0.0' },
            }),
          ),
        );
      case 'ping':
        return send(res, 200, answer(message.id, '{}'));
      case 'tools/list':
        return send(res, 200, answer(message.id, toolsResult));
      case 'tools/call':
        return send(res, 200, answer(message.id, callResult));
      default:
        return send(res, 200, error(message.id, -32601, 'Method not found'));
    }
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
