import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, LATEST_PROTOCOL_VERSION, ListToolsRequestSchema, isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { HttpForwarder, SdkClientForwarder, type UpstreamForwarder } from '@wicket/proxy';
import { FAIL_ARGUMENT, SLOW_MS_ARGUMENT, findDemoCatalog, startUpstreamServer, type UpstreamServer } from '@wicket/upstream-demo';

// Both forwarders against real MCP SDK servers: the same answers classified the same way (spec §4 forward row).

const AUTH = 'Bearer upstream-secret-0001';

describe.each([
  ['http', () => new HttpForwarder()],
  ['sdk', () => new SdkClientForwarder()],
] as [string, () => UpstreamForwarder][])('%s forwarder', (_name, make) => {
  let upstream: UpstreamServer;
  let sse: UpstreamServer;
  let forwarder: UpstreamForwarder;

  beforeAll(async () => {
    // One upstream answering with JSON, one with SSE streams: both are valid Streamable HTTP.
    upstream = await startUpstreamServer({ catalog: findDemoCatalog('github')!, expectedAuthorization: AUTH, jsonResponse: true, slowMs: 5_000 });
    sse = await startUpstreamServer({ catalog: findDemoCatalog('github')!, expectedAuthorization: AUTH });
    forwarder = make();
  });
  afterAll(async () => {
    await forwarder?.close();
    await upstream?.close();
    await sse?.close();
  });

  const call = (target: UpstreamServer, args: Record<string, unknown>, timeoutMs = 2_000, authorization: string | null = AUTH) =>
    forwarder.callTool({ url: target.url, authorization }, { name: 'list_repositories', arguments: args }, timeoutMs);

  it('relays a result (JSON and SSE answers) with the credentials as Authorization', async () => {
    for (const target of [upstream, sse]) {
      const r = await call(target, { owner: 'acme' });
      expect(r.kind).toBe('result');
      expect(JSON.stringify((r as { result: unknown }).result)).toContain('acme');
      expect(target.calls.at(-1)?.headers.authorization).toBe(AUTH);
    }
  });

  it('a tool error is still a result', async () => {
    const r = await call(sse, { [FAIL_ARGUMENT]: 'error' });
    expect(r).toMatchObject({ kind: 'result', result: { isError: true } });
  });

  it('classifies a JSON-RPC error, HTTP 500, a dropped connection, a refused login, a timeout and nobody listening', async () => {
    expect((await call(sse, { [FAIL_ARGUMENT]: 'rpc-error' })).kind).toBe('rpc_error');
    expect(await call(sse, { [FAIL_ARGUMENT]: 'http-500' })).toMatchObject({ kind: 'http_error', httpStatus: 500 });
    expect((await call(sse, { [FAIL_ARGUMENT]: 'disconnect' })).kind).toMatch(/unreachable|http_error/);
    const fresh = make();
    try {
      expect(await fresh.callTool({ url: sse.url, authorization: 'Bearer wrong' }, { name: 'list_repositories', arguments: {} }, 2_000)).toMatchObject({ kind: 'http_error', httpStatus: 401 });
      expect(await fresh.callTool({ url: 'http://127.0.0.1:9/mcp', authorization: null }, { name: 'x', arguments: {} }, 2_000)).toMatchObject({ kind: 'unreachable' });
    } finally {
      await fresh.close();
    }
    const t = performance.now();
    expect(await call(upstream, { [FAIL_ARGUMENT]: 'slow', [SLOW_MS_ARGUMENT]: 3_000 }, 300)).toEqual({ kind: 'timeout', timeoutMs: 300 });
    expect(performance.now() - t).toBeLessThan(2_000);
    // And it still works afterwards.
    expect((await call(sse, { owner: 'acme' })).kind).toBe('result');
  });
});

describe('http forwarder with a stateful upstream', () => {
  let server: Server;
  let url: string;
  const transports = new Map<string, StreamableHTTPServerTransport>();
  let initializations = 0;

  beforeAll(async () => {
    server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : undefined;
      const id = req.headers['mcp-session-id'] as string | undefined;
      let transport = id ? transports.get(id) : undefined;
      if (!transport && !id && isInitializeRequest(body)) {
        initializations++;
        const t = new StreamableHTTPServerTransport({ sessionIdGenerator: () => randomUUID(), onsessioninitialized: (sid) => void transports.set(sid, t) });
        const mcp = new McpServer({ name: 'stateful', version: '1' }, { capabilities: { tools: {} } });
        mcp.server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: [] }));
        mcp.server.setRequestHandler(CallToolRequestSchema, (r) => ({ content: [{ type: 'text', text: `hello ${String(r.params.arguments?.who)}` }] }));
        await mcp.connect(t);
        transport = t;
      }
      if (!transport) {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null }));
        return;
      }
      await transport.handleRequest(req, res, body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
  });
  afterAll(async () => {
    for (const t of transports.values()) await t.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('initialises once, keeps the session, and initialises again once the upstream forgets it', async () => {
    const forwarder = new HttpForwarder();
    const hello = (who: string) => forwarder.callTool({ url, authorization: null }, { name: 'greet', arguments: { who } }, 2_000);
    expect(await Promise.all([hello('a'), hello('b'), hello('c')])).toEqual(
      ['a', 'b', 'c'].map((who) => ({ kind: 'result', httpStatus: 200, result: { content: [{ type: 'text', text: `hello ${who}` }] } })),
    );
    expect(initializations).toBe(1);
    transports.clear();
    expect((await hello('d')).kind).toBe('result');
    expect(initializations).toBe(2);
    await forwarder.close();
  });
});

describe('http forwarder on the wire: redirects, large and awkward SSE answers', () => {
  let server: Server;
  let base: string;
  const seen: { path: string; authorization?: string; method: string }[] = [];
  const big = 'x'.repeat(6 * 1024 * 1024);

  beforeAll(async () => {
    server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const path = new URL(req.url!, 'http://x').pathname;
      seen.push({ path, authorization: req.headers.authorization, method: req.method! });
      const msg = chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : {};
      const redirect = /^\/hop(\d+)$/.exec(path);
      if (redirect) {
        const n = Number(redirect[1]);
        res.writeHead(n % 2 ? 308 : 307, { location: n > 1 ? `/hop${n - 1}` : '/mcp' }).end();
        return;
      }
      if (path === '/permanent') return void res.writeHead(308, { location: '/mcp' }).end();
      if (path === '/loop') return void res.writeHead(307, { location: '/loop' }).end();
      if (path === '/elsewhere') return void res.writeHead(307, { location: `${upstreamOrigin}/mcp` }).end();
      if (msg.method === 'initialize') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: { tools: {} }, serverInfo: { name: 'wire', version: '1' } } }));
        return;
      }
      if (!('id' in msg)) return void res.writeHead(202).end();
      if (msg.params?.arguments?.big) {
        // A notification with CRLF line ends, then the answer: one 6 MiB event in 7 KiB writes, its
        // "\r\n" line ends split across writes, ended by "\r\n\n".
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('event: message\r\ndata: {"jsonrpc":"2.0","method":"notifications/progress","params":{}}\r\n\r\n');
        const event = `event: message\r\ndata: ${JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: { content: [{ type: 'text', text: big }] } })}\r\n\n`;
        for (let i = 0; i < event.length; i += 7 * 1024) {
          if (!res.write(event.slice(i, i + 7 * 1024))) await new Promise((r) => res.once('drain', r));
        }
        res.end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: { content: [{ type: 'text', text: `auth:${req.headers.authorization ?? 'none'}` }] } }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  // A second origin (same server, other host name) for the cross-origin redirect.
  let upstreamOrigin = '';

  const call = (forwarder: HttpForwarder, path: string, args: Record<string, unknown> = {}) =>
    forwarder.callTool({ url: `${base}${path}`, authorization: AUTH }, { name: 'echo', arguments: args }, 10_000);
  const text = (r: Awaited<ReturnType<typeof call>>) => ((r as { result: { content: { text: string }[] } }).result.content[0].text);

  it('follows 307/308 keeping method, body and credentials within the origin; a 308 is remembered', async () => {
    const forwarder = new HttpForwarder();
    try {
      seen.length = 0;
      const r = await call(forwarder, '/hop3');
      expect(r.kind).toBe('result');
      expect(text(r)).toBe(`auth:${AUTH}`);
      expect(seen.every((s) => s.method === 'POST' && s.authorization === AUTH)).toBe(true);
      expect(seen.map((s) => s.path).slice(0, 4)).toEqual(['/hop3', '/hop2', '/hop1', '/mcp']);
      seen.length = 0;
      expect(text(await call(forwarder, '/permanent'))).toBe(`auth:${AUTH}`);
      seen.length = 0;
      expect(text(await call(forwarder, '/permanent'))).toBe(`auth:${AUTH}`);
      expect(seen.map((s) => s.path)).toEqual(['/mcp']);
    } finally {
      await forwarder.close();
    }
  });

  it('drops the credentials when a redirect leaves the origin, and stops redirect loops', async () => {
    const forwarder = new HttpForwarder();
    try {
      upstreamOrigin = base.replace('127.0.0.1', 'localhost');
      seen.length = 0;
      const r = await call(forwarder, '/elsewhere');
      expect(text(r)).toBe('auth:none');
      expect(await call(forwarder, '/loop')).toMatchObject({ kind: 'http_error', httpStatus: 307 });
    } finally {
      await forwarder.close();
    }
  });

  it('reads a 6 MiB SSE answer sent in small writes, after a notification, with CRLF line ends split across writes', async () => {
    const forwarder = new HttpForwarder();
    try {
      const r = await call(forwarder, '/mcp', { big: true });
      expect(r.kind).toBe('result');
      expect(text(r)).toBe(big);
    } finally {
      await forwarder.close();
    }
  });
});
