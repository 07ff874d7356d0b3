import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@wicket/core';
import { repo } from '@wicket/db';
import { buildApp } from '../../apps/server/src/app.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { TEST_SECRET } from '../support/factories.ts';
import { openWsClient, sessionCookie, subscribeSse, subscribeWs, waitFor, writeAuditEntries, wsUrl, type WsClientHandle } from '../support/stream-clients.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('live audit stream: credentials, limits, shutdown and leaks', () => {
  let t: TestApp;
  let url: string;
  const clients: WsClientHandle[] = [];
  const ws = (auth: Parameters<typeof openWsClient>[1]) => {
    const c = openWsClient(url, auth);
    clients.push(c);
    return c;
  };
  const idle = () => {
    const s = t.app.streamStats();
    return s.feed.groups === 0 && s.feed.subscribers === 0 && s.feed.credentialWatchers === 0 && s.ws?.sockets === 0 && s.ws?.subscriptions === 0 && s.ws?.accounts === 0;
  };

  beforeAll(async () => {
    t = await startTestApp();
    url = await t.listen();
  });

  afterAll(async () => {
    for (const c of clients) await c.dispose().catch(() => {});
    await t?.close();
  });

  it('a revoked API token closes its sockets (4401) and ends its SSE streams within seconds', async () => {
    const { account, token } = await t.f.accountWithToken();
    await t.f.agent({ name: 'revoke-bot', owner: account });
    const c = ws({ token });
    await c.connected;
    const s = subscribeWs(c.client);
    const sse = subscribeSse(url, { token });
    await waitFor(() => t.app.streamStats().feed.subscribers === 2, 10_000, 'subscriptions');
    await t.testDb.database.db.updateTable('api_tokens').set({ revoked_at: new Date() }).where('account_id', '=', account.id).execute();
    const started = Date.now();
    expect((await c.closed).code).toBe(4401);
    await Promise.all([s.ended, sse.ended]);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(JSON.stringify(sse.errors)).toMatch(/UNAUTHENTICATED/);
    await waitFor(idle, 10_000, 'everything released');
  });

  it('signing out closes the sockets of that session', async () => {
    const account = await t.f.account();
    await t.f.agent({ name: 'session-bot', owner: account });
    const { cookie, sessionId } = await sessionCookie(t.testDb.database, account.id);
    const c = ws({ cookie });
    await c.connected;
    subscribeWs(c.client);
    await waitFor(() => t.app.streamStats().feed.subscribers === 1, 10_000, 'subscription');
    await repo.revokeSession(t.testDb.database.db, sessionId);
    expect((await c.closed).code).toBe(4401);
    await waitFor(idle, 10_000, 'everything released');
  });

  it('a viewer who loses access mid-stream gets an error and no more entries', async () => {
    const owner = await t.f.accountWithToken();
    const user = await t.f.accountWithToken();
    const agent = await t.f.agent({ name: 'access-bot', owner: owner.account });
    const member = await t.f.member({ agentId: agent.id, account: user.account });
    const c = ws({ token: user.token });
    await c.connected;
    const s = subscribeWs(c.client);
    await waitFor(() => t.app.streamStats().feed.subscribers === 1, 10_000, 'subscription');
    await writeAuditEntries(t.testDb.database, t.app.core, [{ agent_id: agent.id, agent_name: agent.name, member_id: member.id }]);
    await waitFor(() => s.events.length === 1, 10_000, 'first entry');
    await t.testDb.database.db.deleteFrom('members').where('id', '=', member.id).execute();
    await s.ended;
    expect(s.errors[0]).toMatchObject({ extensions: { code: 'FORBIDDEN' } });
    await writeAuditEntries(t.testDb.database, t.app.core, [{ agent_id: agent.id, agent_name: agent.name, member_id: member.id }]);
    await sleep(300);
    expect(s.events).toHaveLength(1);
    await c.dispose();
    await waitFor(idle, 10_000, 'everything released');
  });

  it('limits operations per socket and sockets per account, with clear errors', async () => {
    const { account, token } = await t.f.accountWithToken();
    await t.f.agent({ name: 'limit-bot', owner: account });
    const c = ws({ token });
    await c.connected;
    const subs = Array.from({ length: 20 }, () => subscribeWs(c.client));
    await waitFor(() => t.app.streamStats().feed.subscribers === 20, 10_000, '20 subscriptions');
    const extra = subscribeWs(c.client);
    await extra.ended;
    expect(extra.errors[0]).toMatchObject({ extensions: { code: 'TOO_MANY_SUBSCRIPTIONS' } });
    expect(JSON.stringify(extra.errors)).toMatch(/at most 20/);
    for (const s of subs) s.stop();

    const more = Array.from({ length: 19 }, () => ws({ token }));
    await Promise.all(more.map((m) => m.connected));
    const over = ws({ token });
    const closed = await over.closed;
    expect(closed.code).toBe(4429);
    expect(closed.reason).toMatch(/too many connections for this account \(at most 20\)/);
    // Another account is not affected.
    const other = await t.f.accountWithToken();
    const fine = ws({ token: other.token });
    await fine.connected;
    for (const m of [c, ...more, fine]) await m.dispose();
    await waitFor(idle, 10_000, 'everything released');
  });

  it('counts SSE streams toward the per-account connection limit, with graphql-ws sockets', async () => {
    const { account, token } = await t.f.accountWithToken();
    await t.f.agent({ name: 'sse-limit-bot', owner: account });
    const accountOpen = () => t.app.streamStats().ws!.accounts;
    const accountsBefore = accountOpen();
    const sockets = Array.from({ length: 15 }, () => ws({ token }));
    await Promise.all(sockets.map((m) => m.connected));
    const streams = Array.from({ length: 5 }, () => subscribeSse(url, { token }));
    await waitFor(() => t.app.streamStats().feed.subscribers === 5, 10_000, '5 SSE streams');
    expect(accountOpen()).toBe(accountsBefore + 1);

    // 15 sockets + 5 streams: a sixth stream and a 16th socket are both over the limit of 20.
    const extraStream = subscribeSse(url, { token });
    await extraStream.ended;
    expect(extraStream.events).toHaveLength(0);
    expect(extraStream.errors[0]).toMatchObject({ extensions: { code: 'TOO_MANY_CONNECTIONS' } });
    expect(JSON.stringify(extraStream.errors)).toMatch(/at most 20/);
    const overSocket = ws({ token });
    expect((await overSocket.closed).code).toBe(4429);
    expect(t.app.streamStats().feed.subscribers).toBe(5);

    // A stream that ends gives its slot back: a socket fits again, and the next one does not.
    streams[0].stop();
    await streams[0].ended;
    await waitFor(() => t.app.streamStats().feed.subscribers === 4, 10_000, 'the stream released');
    let again = ws({ token });
    for (let attempt = 0; attempt < 50; attempt++) {
      // The HTTP layer releases the slot as the stream ends, which can trail the feed by a moment.
      const outcome = await Promise.race([again.connected.then(() => 'connected'), again.closed.then((c) => c.code)]);
      if (outcome === 'connected') break;
      expect(outcome).toBe(4429);
      await sleep(50);
      again = ws({ token });
    }
    await again.connected;
    expect((await ws({ token }).closed).code).toBe(4429);

    for (const s of streams) s.stop();
    await Promise.all(streams.map((s) => s.ended));
    for (const m of [...sockets, again]) await m.dispose();
    await waitFor(idle, 10_000, 'everything released');
    expect(accountOpen()).toBe(accountsBefore);
  });

  it('releases every reader, listener and watcher after abrupt disconnects', async () => {
    const { account, token } = await t.f.accountWithToken();
    const agent = await t.f.agent({ name: 'abrupt-bot', owner: account });
    // Raw sockets, terminated without a close frame while entries are flowing.
    const raw = await Promise.all(
      Array.from({ length: 10 }, () =>
        new Promise<WebSocket>((resolve, reject) => {
          const sock = new WebSocket(wsUrl(url), 'graphql-transport-ws');
          sock.on('error', reject);
          sock.on('open', () => sock.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })));
          sock.on('message', (data) => {
            const msg = JSON.parse(String(data));
            if (msg.type === 'connection_ack') {
              for (let k = 0; k < 2; k++) {
                sock.send(JSON.stringify({ id: `s${k}`, type: 'subscribe', payload: { query: 'subscription($f: AuditFilter) { auditEntryAdded(filter: $f) { cursor } }', variables: { f: k ? { result: 'DENY' } : {} } } }));
              }
              resolve(sock);
            }
          });
        }),
      ),
    );
    const sse = Array.from({ length: 5 }, () => subscribeSse(url, { token }));
    await waitFor(() => t.app.streamStats().feed.subscribers === 25, 10_000, '25 subscriptions');
    expect(t.app.streamStats().feed.groups).toBe(2);
    const writing = writeAuditEntries(t.testDb.database, t.app.core, Array.from({ length: 300 }, (_, i) => ({ agent_id: agent.id, agent_name: agent.name, decision: i % 2 ? 'ALLOW' : 'DENY' })));
    for (const sock of raw) sock.terminate();
    for (const s of sse) s.stop();
    await writing;
    await waitFor(idle, 10_000, 'everything released');

    // SSE clients that leave at random moments, some before their stream is even wired up.
    const early = Array.from({ length: 12 }, () => subscribeSse(url, { token }));
    await Promise.all(early.map((s, i) => sleep(i * 4).then(() => s.stop())));
    await Promise.all(early.map((s) => s.ended));
    await waitFor(idle, 10_000, 'everything released after early disconnects');
  });

  it('executes and serialises each event once per group, not once per socket or stream', async () => {
    const { account, token } = await t.f.accountWithToken();
    const agent = await t.f.agent({ name: 'fanout-bot', owner: account });
    const sockets = Array.from({ length: 8 }, () => ws({ token }));
    await Promise.all(sockets.map((s) => s.connected));
    const subs = [...sockets.map((s) => subscribeWs(s.client)), subscribeSse(url, { token }), subscribeSse(url, { token })];
    await waitFor(() => t.app.streamStats().feed.subscribers === 10, 10_000, 'subscriptions');
    expect(t.app.streamStats().feed.groups).toBe(1);
    const before = t.app.streamStats().ws!;
    await writeAuditEntries(t.testDb.database, t.app.core, Array.from({ length: 10 }, () => ({ agent_id: agent.id, agent_name: agent.name })));
    await waitFor(() => subs.every((s) => s.events.length === 10), 10_000, 'deliveries');
    const after = t.app.streamStats().ws!;
    expect(after.executions - before.executions).toBe(10);
    // ...each by the operation compiled once (graphql-jit), not by graphql-js's execute per event.
    expect(after.compiledExecutions - before.compiledExecutions).toBe(10);
    expect(after.serializations - before.serializations).toBe(10);
    expect(after.reusedExecutions - before.reusedExecutions).toBe(90);
    for (const s of subs) expect(s.events).toEqual(subs[0].events);
    for (const s of subs) s.stop();
    for (const s of sockets) await s.dispose();
    await waitFor(idle, 10_000, 'everything released');
  });

  it('a consumer that stops reading holds up no one, stays bounded in memory, and loses nothing once it reads again', async () => {
    const { account, token } = await t.f.accountWithToken();
    const agent = await t.f.agent({ name: 'slow-bot', owner: account });
    const frames: string[] = [];
    const slow = await new Promise<WebSocket>((resolve, reject) => {
      const sock = new WebSocket(wsUrl(url), 'graphql-transport-ws');
      sock.on('error', reject);
      sock.on('open', () => sock.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })));
      sock.on('message', (data) => {
        const msg = JSON.parse(String(data));
        if (msg.type === 'connection_ack') {
          sock.send(JSON.stringify({ id: 'slow', type: 'subscribe', payload: { query: 'subscription { auditEntryAdded { node { id reason } } }' } }));
          resolve(sock);
        } else if (msg.type === 'next') frames.push(msg.payload.data.auditEntryAdded.node.id);
      });
    });
    const c = ws({ token });
    await c.connected;
    const fast = subscribeWs(c.client, {}, 'subscription { auditEntryAdded { node { id } } }');
    await waitFor(() => t.app.streamStats().feed.subscribers === 2, 10_000, 'subscriptions');
    slow.pause(); // stops reading: the kernel buffers fill, then the server's sends back up

    const reason = 'x'.repeat(6000);
    const written: { id: string; seq: number }[] = [];
    let maxQueued = 0;
    for (let i = 0; i < 300; i++) {
      written.push(...(await writeAuditEntries(t.testDb.database, t.app.core, Array.from({ length: 10 }, () => ({ agent_id: agent.id, agent_name: agent.name, reason })))));
      maxQueued = Math.max(maxQueued, t.app.streamStats().feed.maxQueued);
    }
    written.sort((a, b) => a.seq - b.seq);
    await waitFor(() => fast.events.length === written.length, 30_000, 'the fast subscriber');
    expect(fast.events.map((e) => e.node.id)).toEqual(written.map((e) => e.id));
    expect(maxQueued).toBeLessThanOrEqual(4 * 500);
    expect(frames.length).toBeLessThan(written.length);

    slow.resume();
    await waitFor(() => frames.length === written.length, 30_000, 'the slow subscriber, once it reads again');
    expect(frames).toEqual(written.map((e) => e.id));
    slow.terminate();
    fast.stop();
    await c.dispose();
    await waitFor(idle, 10_000, 'everything released');
  });

  it('shutdown closes open sockets with 1001 and ends SSE streams, leaving nothing behind', async () => {
    const database = t.testDb.database;
    const { account, token } = await t.f.accountWithToken();
    await t.f.agent({ name: 'shutdown-bot', owner: account });
    const app = buildApp({ database, logger: createLogger({ level: 'silent' }), serverSecret: TEST_SECRET });
    const { url: appUrl } = await app.start(0);
    const c = openWsClient(appUrl, { token });
    clients.push(c);
    await c.connected;
    subscribeWs(c.client);
    const sse = subscribeSse(appUrl, { token });
    await waitFor(() => app.streamStats().feed.subscribers === 2, 10_000, 'subscriptions');
    await app.stop();
    expect((await c.closed).code).toBe(1001);
    await sse.ended;
    const stats = app.streamStats();
    expect(stats.feed).toMatchObject({ running: false, groups: 0, subscribers: 0, credentialWatchers: 0 });
    expect(stats.ws).toMatchObject({ sockets: 0, subscriptions: 0 });
  });
});
