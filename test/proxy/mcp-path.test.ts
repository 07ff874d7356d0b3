import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { demoCatalogs, FAIL_ARGUMENT, SLOW_MS_ARGUMENT } from '@wicket/upstream-demo';
import { expectedUpstreamAuthorization, PROBE, startProxyWorld, type CallerSetup, type ProxyWorld } from './harness.ts';

// Spec §4: POST /mcp, row by row (HTTP status, JSON-RPC code, audit entry or not), through real HTTP,
// with the official MCP SDK client and real MCP SDK upstream servers.

const issueArgs = () => ({ owner: 'acme', repo: 'api', title: 'Flaky test', [PROBE]: randomUUID() });

describe('POST /mcp, spec §4', () => {
  let w: ProxyWorld;
  let c: CallerSetup;

  beforeAll(async () => {
    w = await startProxyWorld({ proxy: { upstreamTimeoutMs: 2_000 } });
    c = await w.caller({ name: 'path-bot' });
  });
  afterAll(async () => w?.close());

  describe('with the official MCP SDK client', () => {
    it('initializes as MCP clients expect, lists prefixed tools and calls one end to end', async () => {
      const client = await w.client(c.key);
      expect(client.getServerVersion()?.name).toBe('wicket');
      expect(client.getServerCapabilities()?.tools).toBeDefined();

      const { tools } = await client.listTools();
      const names = tools.map((t) => t.name);
      const expected = demoCatalogs.flatMap((cat) => cat.tools.map((t) => `${cat.service}__${t.name}`));
      expect(names.sort()).toEqual(expected.sort());
      const del = tools.find((t) => t.name === 'github__delete_repository')!;
      expect(del.annotations?.destructiveHint).toBe(true);
      expect(del.inputSchema.type).toBe('object');

      const args = issueArgs();
      const result = await client.callTool({ name: 'github__create_issue', arguments: args });
      expect(result.isError).toBeFalsy();
      expect(JSON.stringify(result.content)).toContain('Flaky test');

      const upstream = w.upstreams.servers.github;
      const call = upstream.calls.find((x) => (x.arguments as any)[PROBE] === args[PROBE])!;
      expect(call.tool).toBe('create_issue');
      expect(call.arguments).toEqual(args);
      expect(call.headers.authorization).toBe(expectedUpstreamAuthorization('github'));
      expect(w.uncommittedAtUpstream).toEqual([]);

      const rows = await w.settled(c.agent.id);
      const row = rows.find((r) => (r.tool_args as any)[PROBE] === args[PROBE])!;
      expect(row).toMatchObject({
        agent_id: c.agent.id,
        agent_name: 'path-bot',
        member_id: c.member.id,
        member_name: c.member.display_name,
        member_key_id: c.keyId,
        service: 'github',
        tool: 'create_issue',
        action: 'GitHubMCP::Action::"create_issue"',
        resource: 'GitHubMCP::Service::"github"',
        principal: `GitHubMCP::Member::"${c.member.id}"`,
        caller_ip: '127.0.0.1',
        decision: 'ALLOW',
        policy_id: null,
        matched_policy_ids: [],
        upstream_status: '200',
        upstream_error: null,
      });
      expect(row.reason).toMatch(/default/i);
      expect(row.session_id).toMatch(/^[0-9a-f-]{36}$/);
      expect(row.duration_ms).toBeGreaterThanOrEqual(0);
      expect(row.completed_at).not.toBeNull();
    });

    it('reports a denial as a JSON-RPC error the client sees, with the reason', async () => {
      const denied = await w.caller({ services: ['github'] });
      await w.policy(denied.agent.id, { name: 'No deletes', service: 'github', effect: 'forbid', tools: ['delete_file'], principal: { type: 'all_members' }, denyMessage: 'Deleting files needs a human.' });
      const client = await w.client(denied.key);
      const error = await client.callTool({ name: 'github__delete_file', arguments: { owner: 'a', repo: 'b', path: 'c', message: 'd', branch: 'main', sha: 'e' } }).catch((e) => e);
      expect(error).toBeInstanceOf(McpError);
      expect(error.code).toBe(-32600);
      expect(error.message).toContain('Deleting files needs a human.');
    });
  });

  describe('transport', () => {
    it('GET /mcp and DELETE /mcp answer 405', async () => {
      expect((await fetch(w.mcpUrl)).status).toBe(405);
      expect((await fetch(w.mcpUrl, { method: 'DELETE' })).status).toBe(405);
    });

    it('negotiates the protocol version: a supported one is echoed, an unknown one gets the latest', async () => {
      const init = (protocolVersion: string) =>
        w.rpc(c.key, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion, capabilities: {}, clientInfo: { name: 'x', version: '1' } } });
      const old = await init('2025-03-26');
      expect(old.status).toBe(200);
      expect(old.headers.get('content-type')).toMatch(/application\/json/);
      expect(old.body.result).toMatchObject({ protocolVersion: '2025-03-26', serverInfo: { name: 'wicket' }, capabilities: { tools: {} } });
      expect(old.headers.get('mcp-session-id')).toBeTruthy();
      const future = await init('2099-01-01');
      expect(future.body.result.protocolVersion).toBe('2025-11-25');
    });

    it('answers notifications/initialized with 202 and ping with an empty result', async () => {
      const n = await w.rpc(c.key, { jsonrpc: '2.0', method: 'notifications/initialized' });
      expect(n.status).toBe(202);
      const p = await w.rpc(c.key, { jsonrpc: '2.0', id: 'p', method: 'ping' });
      expect(p.body).toEqual({ jsonrpc: '2.0', id: 'p', result: {} });
    });

    it('refuses batches with 400 -32600', async () => {
      const r = await w.rpc(c.key, [{ jsonrpc: '2.0', id: 1, method: 'ping' }]);
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe(-32600);
    });

    it('refuses a body over the limit (413) and a content type that is not JSON (415)', async () => {
      const big = await w.rpc(c.key, null, { raw: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: { pad: 'x'.repeat(5 * 1024 * 1024) } }) });
      expect(big.status).toBe(413);
      expect(big.body.error.code).toBe(-32600);
      const text = await w.rpc(c.key, null, { raw: '{}', headers: { 'Content-Type': 'text/plain' } });
      expect(text.status).toBe(415);
    });

    it('stops reading a chunked body (no Content-Length) once it passes the limit: 413, and the server carries on', async () => {
      const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.request(`${w.baseUrl}/mcp`, { method: 'POST', headers: { authorization: `Bearer ${c.key}`, 'content-type': 'application/json' } }, (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.write('{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"');
        // 5 MiB in 64 KiB chunks, over the 4 MiB default limit; the answer may come before the end.
        const chunk = 'x'.repeat(64 * 1024);
        let sent = 0;
        const pump = () => {
          while (sent < 80) {
            sent++;
            if (!req.write(chunk)) return void req.once('drain', pump);
          }
          req.end('"}}');
        };
        pump();
      });
      expect(answer.status).toBe(413);
      expect(JSON.parse(answer.body).error.code).toBe(-32600);
      const ping = await w.rpc(c.key, { jsonrpc: '2.0', id: 2, method: 'ping' });
      expect(ping.status).toBe(200);
    });

    it('a client that hangs up half-way through its body is counted, not logged as an error', async () => {
      await new Promise<void>((resolve) => {
        const req = http.request(`${w.baseUrl}/mcp`, { method: 'POST', headers: { authorization: `Bearer ${c.key}`, 'content-type': 'application/json', 'content-length': '1000' } });
        req.on('error', () => resolve());
        req.write('{"jsonrpc":"2.0","id":1,');
        setTimeout(() => {
          req.destroy();
          resolve();
        }, 100);
      });
      await expect
        .poll(async () => (await (await fetch(`${w.baseUrl}/metrics`)).text()).match(/wicket_proxy_requests_total\{outcome="client_aborted"\} (\d+)/)?.[1], { timeout: 5_000 })
        .toBe('1');
      expect(w.logs.join('')).not.toMatch(/unexpected error/);
      expect((await w.rpc(c.key, { jsonrpc: '2.0', id: 2, method: 'ping' })).status).toBe(200);
    });

    it('the in-process handler (the Hono route, for fetch-style hosts) answers /mcp as the Node server does', async () => {
      const call = (body: string, headers: Record<string, string> = {}) =>
        w.app.handler(new Request('http://in-process/mcp', { method: 'POST', body, headers: { authorization: `Bearer ${c.key}`, 'content-type': 'application/json', ...headers } }));
      const args = { owner: 'acme', [PROBE]: randomUUID() };
      const res = await call(JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'github__list_repositories', arguments: args } }));
      expect(res.status).toBe(200);
      const body = (await res.json()) as { id: number; result: { content: unknown[] } };
      expect(body.id).toBe(7);
      expect(body.result.content.length).toBeGreaterThan(0);
      expect((await w.entries(c.agent.id)).some((e) => (e.tool_args as Record<string, unknown>)[PROBE] === args[PROBE])).toBe(true);
      expect((await call('{"jsonrpc":"2.0","id":8,"method":"ping"}')).status).toBe(200);
      expect((await call('{"jsonrpc":"2.0","method":"notifications/initialized"}')).status).toBe(202);
      expect((await call('not json')).status).toBe(400);
      const big = await call(JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'ping', params: { pad: 'x'.repeat(5 * 1024 * 1024) } }));
      expect(big.status).toBe(413);
      expect((await w.app.handler(new Request('http://in-process/mcp', { method: 'GET' }))).status).toBe(405);
    });

    it('answers an unknown method with -32601', async () => {
      const r = await w.rpc(c.key, { jsonrpc: '2.0', id: 3, method: 'resources/list' });
      expect(r.status).toBe(200);
      expect(r.body.error.code).toBe(-32601);
    });
  });

  describe('the table', () => {
    async function countEntries(agentId = c.agent.id) {
      return (await w.entries(agentId)).length;
    }

    it('parse: malformed JSON → 400 -32700; not JSON-RPC → 400 -32600; no entry', async () => {
      const before = await countEntries();
      const bad = await w.rpc(c.key, null, { raw: '{"jsonrpc": "2.0", "id": 1, "method": ' });
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toBe(-32700);
      for (const body of [{ id: 1, method: 'tools/call' }, { jsonrpc: '1.0', id: 1, method: 'ping' }, 42, 'hello', { jsonrpc: '2.0', id: {}, method: 'x' }]) {
        const r = await w.rpc(c.key, body);
        expect(r.status, JSON.stringify(body)).toBe(400);
        expect(r.body.error.code).toBe(-32600);
      }
      expect(await countEntries()).toBe(before);
    });

    it('authenticate: missing, malformed or unknown key → 401 -32600, no entry, counted', async () => {
      const before = await countEntries();
      for (const key of [null, 'wk_test_not-a-key', '']) {
        const r = await w.callTool(key as string, 'github__list_repositories', {}, key === '' ? { Authorization: 'Basic abc' } : undefined);
        expect(r.status).toBe(401);
        expect(r.body.error.code).toBe(-32600);
        expect(r.headers.get('www-authenticate')).toMatch(/Bearer/);
      }
      expect(await countEntries()).toBe(before);
      const metrics = await (await fetch(`${w.baseUrl}/metrics`)).text();
      expect(metrics).toMatch(/wicket_proxy_requests_total\{outcome="unauthenticated"\} [3-9]/);
    });

    it('agent disabled → 403 -32600 with a DENY entry saying so; tools/list and initialize refused too', async () => {
      const d = await w.caller({ status: 'disabled', name: 'stopped-bot' });
      const r = await w.callTool(d.key, 'github__list_repositories', { owner: 'acme' });
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBe(-32600);
      expect(r.body.error.message).toMatch(/disabled/);
      const [row] = await w.entries(d.agent.id);
      expect(row).toMatchObject({ decision: 'DENY', service: 'github', tool: 'list_repositories', action: 'GitHubMCP::Action::"list_repositories"' });
      expect(row.reason).toMatch(/agent "stopped-bot" is disabled/);
      const list = await w.rpc(d.key, { jsonrpc: '2.0', id: 1, method: 'tools/list' });
      expect(list.status).toBe(403);
      expect(await w.entries(d.agent.id)).toHaveLength(1);
    });

    it('member not approved → 403 -32600 with a DENY entry saying so', async () => {
      for (const status of ['pending', 'rejected'] as const) {
        const m = await w.memberOf(c.agent.id, { status });
        const r = await w.callTool(m.key, 'slack__list_channels', {});
        expect(r.status).toBe(403);
        expect(r.body.error.code).toBe(-32600);
        const rows = (await w.entries(c.agent.id)).filter((e) => e.member_id === m.member.id);
        expect(rows).toHaveLength(1);
        expect(rows[0].decision).toBe('DENY');
        expect(rows[0].reason).toMatch(status === 'pending' ? /pending approval/ : /rejected/);
      }
    });

    it('resolve: no prefix → 400 -32602; unknown service → 200 -32601; unknown tool → 200 -32602; no entry', async () => {
      const before = await countEntries();
      const noPrefix = await w.callTool(c.key, 'list_repositories');
      expect(noPrefix.status).toBe(400);
      expect(noPrefix.body.error.code).toBe(-32602);
      const unknown = await w.callTool(c.key, 'jira__create_ticket');
      expect(unknown.status).toBe(200);
      expect(unknown.body.error.code).toBe(-32601);
      const unknownTool = await w.callTool(c.key, 'github__launch_rockets');
      expect(unknownTool.status).toBe(200);
      expect(unknownTool.body.error.code).toBe(-32602);
      const noName = await w.rpc(c.key, { jsonrpc: '2.0', id: 9, method: 'tools/call', params: { arguments: {} } });
      expect(noName.status).toBe(400);
      expect(noName.body.error.code).toBe(-32602);
      // A NUL (which no database text takes) in the name: still just an unknown tool or service, and an
      // unknown key is still a 401, not a database failure.
      const nulTool = await w.callTool(c.key, 'github__list\u0000repositories');
      expect(nulTool.status).toBe(200);
      expect(nulTool.body.error.code).toBe(-32602);
      const nulService = await w.callTool(c.key, 'git\u0000hub__list_repositories');
      expect([nulService.status, nulService.body.error.code]).toEqual([400, -32602]);
      expect((await w.callTool('wk_test_not_a_key', 'github__list\u0000repositories')).status).toBe(401);
      expect(w.logs.join('')).not.toMatch(/key lookup failed/);
      expect(await countEntries()).toBe(before);
    });

    it('service not enabled on the agent → 200 -32600 with a DENY entry', async () => {
      const only = await w.caller({ services: ['github'] });
      const r = await w.callTool(only.key, 'linear__list_teams', {});
      expect(r.status).toBe(200);
      expect(r.body.error.code).toBe(-32600);
      expect(r.body.error.message).toMatch(/not enabled/);
      const [row] = await w.entries(only.agent.id);
      expect(row).toMatchObject({ decision: 'DENY', service: 'linear', tool: 'list_teams', action: 'LinearMCP::Action::"list_teams"' });
      expect(row.reason).toMatch(/service "linear" is not enabled/);
      expect(w.upstreams.servers.linear.calls.filter((x) => x.tool === 'list_teams')).toHaveLength(0);
    });

    it('policies deny → 200 -32600, message with the reason, DENY entry naming the matched and deciding policies', async () => {
      const p = await w.caller({ services: ['github'] });
      const permit = await w.policy(p.agent.id, { name: 'Allow github', service: 'github', effect: 'permit', principal: { type: 'all_members' } });
      const forbid = await w.policy(p.agent.id, {
        name: 'No repo deletion',
        service: 'github',
        effect: 'forbid',
        tools: ['delete_repository'],
        principal: { type: 'all_members' },
        denyMessage: 'Repositories are deleted by humans only.',
      });
      const r = await w.callTool(p.key, 'github__delete_repository', { owner: 'acme', repo: 'api' });
      expect(r.status).toBe(200);
      expect(r.body.error.code).toBe(-32600);
      expect(r.body.error.message).toContain('Repositories are deleted by humans only.');
      const [row] = await w.entries(p.agent.id);
      expect(row.decision).toBe('DENY');
      expect(row.reason).toBe('Repositories are deleted by humans only.');
      expect(row.policy_id).toBe(forbid.id);
      expect([...row.matched_policy_ids].sort()).toEqual([permit.id, forbid.id].sort());
      expect(row.matched_policies).toEqual(
        expect.arrayContaining([
          { id: forbid.id, key: forbid.key, name: 'No repo deletion', version: 1, effect: 'forbid' },
          { id: permit.id, key: permit.key, name: 'Allow github', version: 1, effect: 'permit' },
        ]),
      );
      expect(row.duration_ms).not.toBeNull();
      expect(row.completed_at).not.toBeNull();
      expect(w.upstreams.servers.github.calls.filter((x) => x.tool === 'delete_repository')).toHaveLength(0);
    });

    it('records the Mcp-Session-Id header as the session id, and the socket address (X-Forwarded-For not trusted by default)', async () => {
      const args = issueArgs();
      const r = await w.callTool(c.key, 'github__create_issue', args, { 'Mcp-Session-Id': 'session-abc', 'X-Forwarded-For': '10.9.9.9' });
      expect(r.status).toBe(200);
      const row = (await w.entries(c.agent.id)).find((e) => (e.tool_args as any)[PROBE] === args[PROBE])!;
      expect(row.session_id).toBe('session-abc');
      expect(row.caller_ip).toBe('127.0.0.1');
    });
  });

  describe('forwarding failures (outcome recorded)', () => {
    async function failing(mode: string, extra: Record<string, unknown> = {}) {
      const args = { owner: 'acme', [FAIL_ARGUMENT]: mode, [PROBE]: randomUUID(), ...extra };
      const r = await w.callTool(c.key, 'github__list_repositories', args);
      const rows = await w.settled(c.agent.id);
      const row = rows.find((e) => (e.tool_args as any)[PROBE] === args[PROBE])!;
      return { r, row };
    }

    it('an upstream tool error (isError) is a result: 200, outcome notes the error', async () => {
      const { r, row } = await failing('error');
      expect(r.status).toBe(200);
      expect(r.body.result.isError).toBe(true);
      expect(row).toMatchObject({ decision: 'ALLOW', upstream_status: '200' });
      expect(row.upstream_error).toMatch(/isError/);
    });

    it('an upstream JSON-RPC error → 502 -32603', async () => {
      const { r, row } = await failing('rpc-error');
      expect(r.status).toBe(502);
      expect(r.body.error.code).toBe(-32603);
      expect(row.upstream_error).toMatch(/JSON-RPC error -32603/);
    });

    it('an upstream HTTP 500 → 502 -32603', async () => {
      const { r, row } = await failing('http-500');
      expect(r.status).toBe(502);
      expect(r.body.error.code).toBe(-32603);
      expect(row).toMatchObject({ upstream_status: '500', upstream_error: 'HTTP 500' });
    });

    it('an upstream that drops the connection → 502 -32603', async () => {
      const { r, row } = await failing('disconnect');
      expect(r.status).toBe(502);
      expect(r.body.error.code).toBe(-32603);
      expect(row.upstream_status).toBeNull();
      expect(row.upstream_error).toMatch(/^unreachable/);
    });

    it('an upstream slower than the timeout (2 s here, 30 s by default) → 504 -32603, duration includes the wait', async () => {
      const { r, row } = await failing('slow', { [SLOW_MS_ARGUMENT]: 5_000 });
      expect(r.status).toBe(504);
      expect(r.body.error.code).toBe(-32603);
      expect(row.upstream_error).toMatch(/timeout after 2000 ms/);
      expect(row.duration_ms).toBeGreaterThanOrEqual(2000);
    });

    it('an unreachable upstream (nothing listening) → 502 -32603', async () => {
      const u = await w.caller({ services: ['github'] });
      const svc = `gone${Date.now() % 100000}`;
      await w.core.connectors.upsert({
        service: svc,
        name: 'Gone',
        upstreamUrl: 'http://127.0.0.1:9/mcp',
        cedarNamespace: 'GoneMCP',
        tools: [{ name: 'ping', description: 'ping', tier: 'read', sensitiveKeys: [], inputSchema: { type: 'object' } }],
      });
      await w.db.insertInto('agent_services').values({ agent_id: u.agent.id, service: svc }).execute();
      const r = await w.callTool(u.key, `${svc}__ping`, {});
      expect(r.status).toBe(502);
      expect(r.body.error.code).toBe(-32603);
      const [row] = await w.settled(u.agent.id);
      expect(row).toMatchObject({ decision: 'ALLOW', upstream_status: null });
      expect(row.upstream_error).toMatch(/^unreachable/);
    });

    it('the SDK client sees a 502 as a transport error', async () => {
      const client = await w.client(c.key);
      const error = await client.callTool({ name: 'github__list_repositories', arguments: { [FAIL_ARGUMENT]: 'http-500' } }).catch((e) => e);
      expect(error).toBeInstanceOf(StreamableHTTPError);
      expect((error as StreamableHTTPError).code).toBe(502);
    });
  });
});
