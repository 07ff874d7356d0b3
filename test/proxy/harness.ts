import { Writable } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createLogger, type Access, type PolicyInput } from '@wicket/core';
import { sql } from 'kysely';
import { repo, type AuditEntryRow, type Database } from '@wicket/db';
import { connectorOf, demoCatalogs, startDemoUpstreams, type DemoUpstreams, type UpstreamCall } from '@wicket/upstream-demo';
import type { McpProxyOptions } from '@wicket/proxy';
import { buildApp, type App } from '../../apps/server/src/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { factories, TEST_SECRET, type Factories } from '../support/factories.ts';

/** Credentials each demo upstream requires; the proxy must send them (decrypted) as Authorization. */
export const UPSTREAM_CREDENTIALS: Record<string, string> = {
  github: 'ghu_upstreamcredential000000000000000001',
  slack: 'Bearer xoxb-upstream-credential-0002',
  linear: 'lin_api_upstreamcredential00000000000003',
};

export function expectedUpstreamAuthorization(service: string): string {
  const c = UPSTREAM_CREDENTIALS[service];
  return c.startsWith('Bearer ') ? c : `Bearer ${c}`;
}

/** Argument that names a call, so the upstream can find the call's audit entry when the call reaches it. */
export const PROBE = 'probe';

export interface RpcAnswer {
  status: number;
  headers: Headers;
  body: any;
}

export interface CallerSetup {
  agent: repo.AgentRow;
  member: repo.MemberRow;
  key: string;
  keyId: string;
}

export interface ProxyWorld {
  app: App;
  core: App['core'];
  testDb: TestDatabase;
  db: Database['db'];
  f: Factories;
  baseUrl: string;
  mcpUrl: string;
  upstreams: DemoUpstreams;
  /** Every log line the server wrote (pino JSON), at trace level. */
  logs: string[];
  /** The proxy's clock: null = the real time. */
  setNow(at: Date | null): void;
  owner: { accountId: string; email: string; token: string };
  ownerAccess(): Promise<Access>;
  /** Calls that reached an upstream while their audit entry was NOT (yet) committed: must stay empty. */
  uncommittedAtUpstream: string[];
  /** Set to observe or delay calls as they reach an upstream. */
  onUpstreamCall: ((call: UpstreamCall) => void | Promise<void>) | null;
  caller(options?: {
    trustMode?: 'trusted' | 'untrusted';
    timezone?: string;
    status?: 'active' | 'disabled';
    memberStatus?: 'pending' | 'approved' | 'rejected';
    services?: string[];
    name?: string;
  }): Promise<CallerSetup>;
  /** A second approved member with a key on an existing agent. */
  memberOf(agentId: string, options?: { status?: 'pending' | 'approved' | 'rejected' }): Promise<{ member: repo.MemberRow; key: string; keyId: string }>;
  policy(agentId: string, input: PolicyInput): Promise<{ id: string; key: string }>;
  rpc(key: string | null, body: unknown, init?: { headers?: Record<string, string>; raw?: string }): Promise<RpcAnswer>;
  callTool(key: string, name: string, args?: Record<string, unknown>, headers?: Record<string, string>): Promise<RpcAnswer>;
  /** The official MCP SDK client, connected through the proxy with the member key. */
  client(key: string): Promise<Client>;
  entries(agentId: string): Promise<AuditEntryRow[]>;
  entry(id: string): Promise<AuditEntryRow | undefined>;
  /** Waits until every entry of the agent has its outcome (outcomes are written in batches, off the call's path). */
  settled(agentId: string): Promise<AuditEntryRow[]>;
  close(): Promise<void>;
}

let rpcId = 1;

/**
 * A server on a real loopback port with the proxy, the three demo upstreams (official MCP SDK servers)
 * installed as connectors, an owner account, and a log capture.
 */
export async function startProxyWorld(options: { proxy?: McpProxyOptions; database?: Parameters<typeof createTestDatabase>[0] } = {}): Promise<ProxyWorld> {
  const testDb = await createTestDatabase(options.database);
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const logger = createLogger({ level: 'trace', destination });
  let now: Date | null = null;
  const app = buildApp({
    database: testDb.database,
    logger,
    serverSecret: TEST_SECRET,
    proxy: { rateLimit: { burst: 100_000, refillPerSecond: 100_000 }, upstreamTimeoutMs: 10_000, ...options.proxy, clock: () => now ?? new Date() },
  });
  const core = app.core;
  const f = factories(testDb.database);

  // The upstream reads the audit log on a connection of its own where there can be one (PostgreSQL).
  const probeDb = testDb.url ? (await testDb.open()).db : testDb.database.db;
  const uncommittedAtUpstream: string[] = [];
  const world = { onUpstreamCall: null } as ProxyWorld;
  const upstreams = await startDemoUpstreams({
    expectedAuthorization: Object.fromEntries(Object.keys(UPSTREAM_CREDENTIALS).map((s) => [s, expectedUpstreamAuthorization(s)])),
    slowMs: 10_000,
    onCall: async (call) => {
      const probe = (call.arguments as Record<string, unknown> | undefined)?.[PROBE];
      if (typeof probe === 'string') {
        const row = await probeDb
          .selectFrom('audit_entries')
          .select(['id', 'decision', 'completed_at'])
          .where(sql<boolean>`tool_args ->> ${PROBE} = ${probe}`)
          .executeTakeFirst();
        if (!row || row.decision !== 'ALLOW' || row.completed_at !== null) uncommittedAtUpstream.push(probe);
      }
      await world.onUpstreamCall?.(call);
    },
  });
  for (const catalog of demoCatalogs) {
    await core.connectors.upsert(connectorOf(catalog, { upstreamUrl: upstreams.servers[catalog.service].url, credentials: UPSTREAM_CREDENTIALS[catalog.service] }));
  }

  const { account, token } = await f.accountWithToken({ email: `owner-${Date.now()}@example.com` });
  const baseUrl = (await app.start(0)).url;
  const mcpUrl = `${baseUrl}/mcp`;
  const clients: Client[] = [];

  const rpc: ProxyWorld['rpc'] = async (key, body, init = {}) => {
    const headers: Record<string, string> = { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', ...init.headers };
    if (key !== null) headers.Authorization = `Bearer ${key}`;
    const res = await fetch(mcpUrl, { method: 'POST', headers, body: init.raw ?? JSON.stringify(body) });
    const text = await res.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = text;
    }
    return { status: res.status, headers: res.headers, body: parsed };
  };

  return Object.assign(world, {
    app,
    core,
    testDb,
    db: testDb.database.db,
    f,
    baseUrl,
    mcpUrl,
    upstreams,
    logs,
    uncommittedAtUpstream,
    setNow(at: Date | null) {
      now = at;
    },
    owner: { accountId: account.id, email: account.email, token },
    ownerAccess: () => core.access({ accountId: account.id, email: account.email, name: account.name, credential: { kind: 'token', id: 'test' } }),
    async caller(o: Parameters<ProxyWorld['caller']>[0] = {}) {
      const agent = await f.agent({
        name: o.name,
        trustMode: o.trustMode,
        timezone: o.timezone,
        status: o.status,
        owner: { id: account.id, email: account.email },
        services: o.services ?? ['github', 'slack', 'linear'],
      });
      const member = await f.member({ agentId: agent.id, status: o.memberStatus ?? 'approved' });
      const { key, keyId } = await f.memberKey(member.id);
      return { agent, member, key, keyId };
    },
    async memberOf(agentId: string, o: { status?: 'pending' | 'approved' | 'rejected' } = {}) {
      const member = await f.member({ agentId, status: o.status ?? 'approved' });
      const { key, keyId } = await f.memberKey(member.id);
      return { member, key, keyId };
    },
    async policy(agentId: string, input: PolicyInput) {
      const access = await world.ownerAccess!();
      const p = await core.policies.create(access, agentId, input);
      return { id: p.id, key: p.key };
    },
    rpc,
    callTool: (key: string, name: string, args: Record<string, unknown> = {}, headers?: Record<string, string>) =>
      rpc(key, { jsonrpc: '2.0', id: rpcId++, method: 'tools/call', params: { name, arguments: args } }, { headers }),
    async client(key: string) {
      const transport = new StreamableHTTPClientTransport(new URL(mcpUrl), { requestInit: { headers: { Authorization: `Bearer ${key}` } } });
      const client = new Client({ name: 'test-agent', version: '1.0.0' });
      await client.connect(transport);
      clients.push(client);
      return client;
    },
    entries: (agentId: string) => testDb.database.db.selectFrom('audit_entries').selectAll().where('agent_id', '=', agentId).orderBy('seq').execute(),
    entry: (id: string) => testDb.database.db.selectFrom('audit_entries').selectAll().where('id', '=', id).executeTakeFirst(),
    async settled(agentId: string) {
      for (let i = 0; ; i++) {
        const rows = await world.entries!(agentId);
        if (rows.every((r) => r.completed_at !== null) || i > 200) return rows;
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async close() {
      for (const c of clients) await c.close().catch(() => {});
      await upstreams.close();
      await app.stop();
      await testDb.drop();
    },
  }) as ProxyWorld;
}
