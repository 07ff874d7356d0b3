import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { demoCatalogs, findDemoCatalog, resolveResource } from './catalog.ts';
import { startDemoUpstreams } from './demo-upstreams.ts';
import { startUpstreamServer, type UpstreamServer, type UpstreamServerOptions } from './server.ts';

const github = findDemoCatalog('github')!;
const cleanup: Array<() => Promise<void>> = [];

afterEach(async () => {
  await Promise.all(cleanup.splice(0).map((fn) => fn()));
});

async function start(options: Partial<UpstreamServerOptions> = {}): Promise<UpstreamServer> {
  const server = await startUpstreamServer({ catalog: github, ...options });
  cleanup.push(() => server.close());
  return server;
}

async function connect(url: string, headers: Record<string, string> = {}): Promise<Client> {
  const client = new Client({ name: 'upstream-demo-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  cleanup.push(() => client.close());
  return client;
}

const textOf = (result: unknown) => ((result as CallToolResult).content[0] as { text: string }).text;

/** A raw JSON-RPC POST, as a proxy forwarding a single call would send it. */
function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: JSON.stringify(body),
  });
}
const callBody = (name: string, args: Record<string, unknown>) => ({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: args } });

describe('catalogs', () => {
  it('has the three connectors with realistic, consistent tools', () => {
    expect(demoCatalogs.map((c) => [c.service, c.cedarNamespace])).toEqual([
      ['github', 'GitHubMCP'],
      ['slack', 'SlackMCP'],
      ['linear', 'LinearMCP'],
    ]);
    for (const catalog of demoCatalogs) {
      expect(catalog.tools.length).toBeGreaterThanOrEqual(8);
      expect(catalog.tools.length).toBeLessThanOrEqual(14);
      expect(new Set(catalog.tools.map((t) => t.name)).size).toBe(catalog.tools.length);
      for (const tier of ['read', 'write', 'destructive']) expect(catalog.tools.some((t) => t.tier === tier)).toBe(true);
      for (const tool of catalog.tools) {
        expect(tool.name).toMatch(/^[a-z][a-z_]*$/);
        expect(tool.name).not.toContain('__');
        expect(tool.inputSchema.type).toBe('object');
        for (const key of tool.inputSchema.required ?? []) expect(tool.inputSchema.properties).toHaveProperty(key);
      }
    }
  });

  it('resolves resources from arguments', () => {
    const createIssue = github.tools.find((t) => t.name === 'create_issue')!;
    expect(resolveResource(createIssue, { owner: 'acme', repo: 'api', title: 'x' })).toBe('acme/api');
    expect(resolveResource(createIssue, { owner: 'acme' })).toBeNull();
    expect(resolveResource({}, { owner: 'acme' })).toBeNull();
  });
});

describe('startUpstreamServer', () => {
  it('serves the catalog over MCP to the official client', async () => {
    const server = await start();
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/mcp`);
    const client = await connect(server.url);

    expect(client.getServerVersion()?.name).toBe('github-demo');
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(github.tools.map((t) => t.name));
    const deleteRepo = tools.find((t) => t.name === 'delete_repository')!;
    expect(deleteRepo.inputSchema).toEqual(github.tools.find((t) => t.name === 'delete_repository')!.inputSchema);
    expect(deleteRepo.annotations).toMatchObject({ destructiveHint: true, readOnlyHint: false });

    const result = await client.callTool({ name: 'create_issue', arguments: { owner: 'acme', repo: 'api', title: 'Bug' } });
    expect(result.isError).toBeFalsy();
    expect(JSON.parse(textOf(result))).toEqual({ number: 42, url: 'https://github.com/acme/api/issues/42', title: 'Bug', state: 'open' });
    const second = await client.callTool({ name: 'create_issue', arguments: { owner: 'acme', repo: 'api', title: 'Again' } });
    expect(JSON.parse(textOf(second)).number).toBe(43);
  });

  it('answers with JSON instead of SSE when asked', async () => {
    const server = await start({ jsonResponse: true });
    const res = await post(server.url, callBody('list_issues', { owner: 'acme', repo: 'api' }));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
    const body = (await res.json()) as { result: CallToolResult };
    expect(JSON.parse(textOf(body.result))[0].number).toBe(41);
  });

  it('records every call with its exact arguments and headers, and awaits onCall before answering', async () => {
    const events: string[] = [];
    const server = await start({
      onCall: async (call) => {
        events.push(`onCall start ${call.tool}`);
        await new Promise((r) => setTimeout(r, 50));
        events.push(`onCall end ${call.tool}`);
      },
    });
    const client = await connect(server.url, { 'x-request-id': 'req-1' });
    const args = { owner: 'acme', repo: 'api', files: [{ path: 'a.txt', content: 'A' }], message: 'm', branch: 'main', extra: { nested: [1, null] } };
    await client.callTool({ name: 'push_files', arguments: args });
    events.push('result received');

    expect(events).toEqual(['onCall start push_files', 'onCall end push_files', 'result received']);
    expect(server.calls).toHaveLength(1);
    expect(server.calls[0]).toMatchObject({ tool: 'push_files', arguments: args });
    expect(server.calls[0].headers['x-request-id']).toBe('req-1');
    expect(server.requests.map((r) => r.rpcMethod)).toEqual(expect.arrayContaining(['initialize', 'tools/call']));
  });

  it('uses a custom behaviour, falling back to the fake results', async () => {
    const server = await start({
      behaviour: (tool, args) => (tool === 'search_code' ? { content: [{ type: 'text', text: `found ${String(args.query)}` }] } : undefined),
    });
    const client = await connect(server.url);
    expect(textOf(await client.callTool({ name: 'search_code', arguments: { query: 'foo' } }))).toBe('found foo');
    expect(JSON.parse(textOf(await client.callTool({ name: 'delete_repository', arguments: { owner: 'a', repo: 'b' } })))).toEqual({ deleted: 'a/b' });
  });

  it('reports unknown tools and invalid arguments as tool errors, like McpServer does', async () => {
    const server = await start();
    const client = await connect(server.url);
    const unknown = await client.callTool({ name: 'nope', arguments: {} });
    expect(unknown.isError).toBe(true);
    expect(textOf(unknown)).toContain('Tool nope not found');
    const invalid = await client.callTool({ name: 'create_issue', arguments: { owner: 'acme' } });
    expect(invalid.isError).toBe(true);
    expect(textOf(invalid)).toContain('Input validation error');
    expect(server.calls.map((c) => c.tool)).toEqual(['nope', 'create_issue']);
  });

  it('checks the bearer credential when configured', async () => {
    const server = await start({ expectedAuthorization: 'Bearer upstream-secret' });
    const denied = await post(server.url, callBody('list_issues', { owner: 'a', repo: 'b' }), { authorization: 'Bearer wrong' });
    expect(denied.status).toBe(401);
    expect(denied.headers.get('www-authenticate')).toContain('Bearer');
    await expect(connect(server.url)).rejects.toThrow();
    expect(server.calls).toHaveLength(0);
    expect(server.requests.every((r) => !r.authorized)).toBe(true);

    const client = await connect(server.url, { authorization: 'Bearer upstream-secret' });
    await client.callTool({ name: 'list_issues', arguments: { owner: 'a', repo: 'b' } });
    expect(server.calls[0].headers.authorization).toBe('Bearer upstream-secret');
  });

  it('answers GET and other paths like a stateless server', async () => {
    const server = await start();
    expect((await fetch(server.url)).status).toBe(405);
    expect((await fetch(server.url.replace('/mcp', '/other'), { method: 'POST' })).status).toBe(404);
    const bad = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{oops' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: number } }).error.code).toBe(-32700);
  });
});

describe('simulated failures', () => {
  it('"error" returns a tool error result', async () => {
    const server = await start();
    const client = await connect(server.url);
    const result = await client.callTool({ name: 'create_issue', arguments: { owner: 'a', repo: 'b', title: 't', __fail: 'error' } });
    expect(result.isError).toBe(true);
    expect(server.calls[0].arguments).toEqual({ owner: 'a', repo: 'b', title: 't', __fail: 'error' });
  });

  it('"rpc-error" returns a JSON-RPC error', async () => {
    const server = await start({ jsonResponse: true });
    const res = await post(server.url, callBody('create_issue', { __fail: 'rpc-error' }));
    expect(res.status).toBe(200);
    expect(((await res.json()) as { error: { code: number } }).error.code).toBe(-32603);
    const client = await connect(server.url);
    await expect(client.callTool({ name: 'create_issue', arguments: { __fail: 'rpc-error' } })).rejects.toThrow(/simulated/);
  });

  it('"http-500" answers 500 with a non-JSON body, after onCall', async () => {
    let seen = 0;
    const server = await start({ onCall: () => void seen++ });
    const res = await post(server.url, callBody('delete_file', { __fail: 'http-500' }));
    expect(res.status).toBe(500);
    expect(await res.text()).toBe('Internal Server Error');
    expect(seen).toBe(1);
    expect(server.calls).toHaveLength(1);
  });

  it('"disconnect" drops the connection without an answer', async () => {
    const server = await start();
    await expect(post(server.url, callBody('delete_file', { __fail: 'disconnect' }))).rejects.toThrow();
    expect(server.calls[0].tool).toBe('delete_file');
  });

  it('"slow" delays the answer by slowMs or __slowMs', async () => {
    const server = await start({ slowMs: 300 });
    const client = await connect(server.url);
    let t = Date.now();
    const result = await client.callTool({ name: 'list_issues', arguments: { owner: 'a', repo: 'b', __fail: 'slow' } });
    expect(Date.now() - t).toBeGreaterThanOrEqual(290);
    expect(result.isError).toBeFalsy();
    t = Date.now();
    await client.callTool({ name: 'list_issues', arguments: { owner: 'a', repo: 'b', __fail: 'slow', __slowMs: 20 } });
    expect(Date.now() - t).toBeLessThan(290);
  });

  it('"slow" gives up when the caller aborts, and close() does not wait for it', async () => {
    const server = await startUpstreamServer({ catalog: github }); // default 35 s
    const aborter = new AbortController();
    const pending = fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify(callBody('list_issues', { owner: 'a', repo: 'b', __fail: 'slow' })),
      signal: aborter.signal,
    }).then((r) => r.text());
    await new Promise((r) => setTimeout(r, 100));
    expect(server.calls).toHaveLength(1);
    aborter.abort();
    await expect(pending).rejects.toThrow();
    const t = Date.now();
    await server.close();
    expect(Date.now() - t).toBeLessThan(2_000);
  });

  it('close() ends in-flight slow calls', async () => {
    const server = await startUpstreamServer({ catalog: github });
    const pending = post(server.url, callBody('list_issues', { owner: 'a', repo: 'b', __fail: 'slow' })).then((r) => r.text());
    await new Promise((r) => setTimeout(r, 100));
    const t = Date.now();
    await server.close();
    await pending.catch(() => undefined);
    expect(Date.now() - t).toBeLessThan(2_000);
  });
});

describe('startDemoUpstreams', () => {
  it('starts the three connectors on distinct ports', async () => {
    const demo = await startDemoUpstreams({ expectedAuthorization: { slack: 'Bearer xoxb-demo' } });
    cleanup.push(() => demo.close());
    expect(Object.keys(demo.servers)).toEqual(['github', 'slack', 'linear']);
    expect(new Set(Object.values(demo.servers).map((s) => s.port)).size).toBe(3);

    const linear = await connect(demo.servers.linear.url);
    const created = await linear.callTool({ name: 'create_issue', arguments: { teamId: 'ENG', title: 'Hello' } });
    expect(JSON.parse(textOf(created)).issue.identifier).toBe('ENG-42');

    const slack = await connect(demo.servers.slack.url, { authorization: 'Bearer xoxb-demo' });
    expect((await slack.listTools()).tools.map((t) => t.name)).toContain('post_message');
  });
});
