import { randomUUID } from 'node:crypto';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { repo, type Database, type NewAuditEntryRow } from '@wicket/db';
import { committedStatement, Secrets, type Core } from '@wicket/core';
import { TEST_SECRET } from './factories.ts';

/** Live-stream test clients: graphql-ws (with `ws`, Node 20 has no global WebSocket) and SSE. */

export const AUDIT_ENTRY_ADDED = /* GraphQL */ `
  subscription Stream($filter: AuditFilter, $after: String) {
    auditEntryAdded(filter: $filter, after: $after) {
      cursor
      node { id timestamp agentId agentName memberId service tool decision reason matchedPolicyIds matchedPolicyNames policyId matchedPolicies { id key name version effect } }
    }
  }
`;

export interface StreamEvent {
  cursor: string;
  node: { id: string; agentId: string; memberId: string | null; service: string; tool: string; decision: string; policyId: string | null; matchedPolicyIds: string[]; [k: string]: unknown };
}

export interface Collected {
  events: StreamEvent[];
  errors: unknown[];
  completed: boolean;
  /** Resolves when the stream ends (complete, error or socket close). */
  ended: Promise<void>;
  stop(): void;
}

export function wsUrl(httpUrl: string): string {
  return `${httpUrl.replace(/^http/, 'ws')}/graphql`;
}

export interface WsClientHandle {
  client: Client;
  /** Close events seen by this client (code, reason). */
  closes: { code: number; reason: string }[];
  closed: Promise<{ code: number; reason: string }>;
  connected: Promise<void>;
  dispose(): Promise<void>;
}

/** A graphql-ws client that does not retry, so tests see every close code. */
export function openWsClient(httpUrl: string, auth: { token?: string; cookie?: string; connectionParams?: Record<string, unknown> } = {}): WsClientHandle {
  const closes: { code: number; reason: string }[] = [];
  let resolveClosed!: (c: { code: number; reason: string }) => void;
  const closed = new Promise<{ code: number; reason: string }>((r) => (resolveClosed = r));
  let resolveConnected!: () => void;
  const connected = new Promise<void>((r) => (resolveConnected = r));
  const cookie = auth.cookie;
  const Impl = cookie
    ? class extends WebSocket {
        constructor(address: string, protocols?: string | string[]) {
          super(address, protocols, { headers: { cookie } });
        }
      }
    : WebSocket;
  const client = createClient({
    url: wsUrl(httpUrl),
    webSocketImpl: Impl,
    retryAttempts: 0,
    lazy: false,
    onNonLazyError: () => {},
    connectionParams: auth.connectionParams ?? (auth.token ? { authorization: `Bearer ${auth.token}` } : {}),
    on: {
      connected: () => resolveConnected(),
      closed: (e: any) => {
        const c = { code: e?.code ?? 0, reason: String(e?.reason ?? '') };
        closes.push(c);
        resolveClosed(c);
      },
    },
  });
  return { client, closes, closed, connected, dispose: () => client.dispose() as Promise<void> };
}

export function subscribeWs(client: Client, variables: { filter?: Record<string, unknown>; after?: string | null } = {}, query = AUDIT_ENTRY_ADDED): Collected {
  const out: Collected = { events: [], errors: [], completed: false, ended: Promise.resolve(), stop: () => {} };
  out.ended = new Promise<void>((resolve) => {
    out.stop = client.subscribe<{ auditEntryAdded: StreamEvent }>(
      { query, variables },
      {
        next: (msg) => {
          if (msg.errors) out.errors.push(...msg.errors);
          if (msg.data?.auditEntryAdded) out.events.push(msg.data.auditEntryAdded);
        },
        error: (err) => {
          // graphql-ws reports an operation's errors as an array, a connection problem as one value
          if (Array.isArray(err)) out.errors.push(...err);
          else out.errors.push(err);
          resolve();
        },
        complete: () => {
          out.completed = true;
          resolve();
        },
      },
    );
  });
  return out;
}

/**
 * GraphQL over SSE as Yoga serves it on /graphql (`Accept: text/event-stream`): a POST whose response
 * is a stream of `event: next` / `event: complete` messages.
 */
export function subscribeSse(
  httpUrl: string,
  auth: { token?: string; cookie?: string },
  variables: { filter?: Record<string, unknown>; after?: string | null } = {},
  query = AUDIT_ENTRY_ADDED,
): Collected & { status: Promise<number> } {
  const abort = new AbortController();
  const out = { events: [] as StreamEvent[], errors: [] as unknown[], completed: false } as Collected & { status: Promise<number> };
  let resolveStatus!: (n: number) => void;
  out.status = new Promise<number>((r) => (resolveStatus = r));
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let stopped = false;
  // Cancelling the reader (not aborting the fetch mid-read, which trips an undici bug on Node 20)
  // closes the connection; the server sees the client go away.
  out.stop = () => {
    stopped = true;
    if (reader) reader.cancel().catch(() => {});
    else abort.abort();
  };
  out.ended = (async () => {
    const headers: Record<string, string> = { 'Content-Type': 'application/json', Accept: 'text/event-stream' };
    if (auth.token) headers.Authorization = `Bearer ${auth.token}`;
    if (auth.cookie) headers.Cookie = auth.cookie;
    try {
      const res = await fetch(`${httpUrl}/graphql`, { method: 'POST', headers, body: JSON.stringify({ query, variables }), signal: abort.signal });
      resolveStatus(res.status);
      if (!res.body) return;
      reader = res.body.getReader();
      if (stopped) await reader.cancel();
      const decoder = new TextDecoder();
      let buffer = '';
      while (true) {
        const { value: chunk, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(chunk, { stream: true });
        let sep: number;
        while ((sep = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, sep);
          buffer = buffer.slice(sep + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event:')) event = line.slice(6).trim();
            else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
          }
          if (event === 'complete') {
            out.completed = true;
            continue;
          }
          if (data.length === 0) continue;
          const msg = JSON.parse(data.join('\n'));
          if (msg.errors) out.errors.push(...msg.errors);
          if (msg.data?.auditEntryAdded) out.events.push(msg.data.auditEntryAdded);
        }
      }
    } catch (err) {
      if (!abort.signal.aborted && !stopped) out.errors.push(err);
      resolveStatus(0);
    }
  })();
  return out;
}

export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 15_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A console session for an account; returns the Cookie header value. */
export async function sessionCookie(database: Database, accountId: string): Promise<{ cookie: string; sessionId: string }> {
  const token = `wks_test_${randomUUID().replace(/-/g, '')}`;
  const id = await repo.insertSession(database.db, { accountId, digest: new Secrets(TEST_SECRET).digest(token), expiresAt: new Date(Date.now() + 3_600_000) });
  return { cookie: `wicket_session=${token}`, sessionId: id };
}

/**
 * Writes entries in one insert statement (committed on return), then the `audit.committed` event. Pass
 * `core: null` to write without waking anyone (NOTIFY/catch-up only). The event says the statement's
 * max seq only, unless `announce` is 'rows': then, as the proxy's audit writer does, its seq range, its
 * agents and members and its rows as stored.
 */
export async function writeAuditEntries(database: Database, core: Core | null, rows: Partial<NewAuditEntryRow>[], announce: 'head' | 'rows' = 'head'): Promise<{ id: string; seq: number }[]> {
  const full = rows.map((r) => ({
    agent_name: 'agent',
    service: 'github',
    tool: 'list_repositories',
    decision: 'ALLOW',
    ...r,
    tool_args: r.tool_args === undefined ? '{}' : typeof r.tool_args === 'string' ? r.tool_args : JSON.stringify(r.tool_args),
    matched_policies: r.matched_policies === undefined ? '[]' : typeof r.matched_policies === 'string' ? r.matched_policies : JSON.stringify(r.matched_policies),
  })) as NewAuditEntryRow[];
  if (announce === 'rows') {
    const stored = await database.db.insertInto('audit_entries').values(full).returningAll().execute();
    if (core && stored.length) core.events.emit('audit.committed', committedStatement(stored));
    return stored.map((r) => ({ id: r.id, seq: Number(r.seq) }));
  }
  const inserted = await repo.insertAuditEntries(database.db, full);
  if (core && inserted.length) core.events.emit('audit.committed', { maxSeq: Math.max(...inserted.map((r) => Number(r.seq))) });
  return inserted.map((r) => ({ id: r.id, seq: Number(r.seq) }));
}
