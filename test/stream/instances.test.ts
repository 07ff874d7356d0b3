import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@wicket/core';
import { buildApp, type App, type AppConfig } from '../../apps/server/src/app.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { testBackend } from '../support/backend.ts';
import { TEST_SECRET } from '../support/factories.ts';
import { openWsClient, subscribeWs, waitFor, writeAuditEntries, type StreamEvent, type WsClientHandle } from '../support/stream-clients.ts';

const backend = testBackend();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('live audit stream: instances and restarts', () => {
  let t: TestApp;
  let token: string;
  let agent: { id: string; name: string };
  const apps: App[] = [];
  const clients: WsClientHandle[] = [];

  const app = (database: AppConfig['database'], stream?: AppConfig['stream']) => {
    const a = buildApp({ database, logger: createLogger({ level: 'silent' }), serverSecret: TEST_SECRET, stream });
    apps.push(a);
    return a;
  };
  const rows = (count: number, tag: string) =>
    Array.from({ length: count }, (_, i) => ({ agent_id: agent.id, agent_name: agent.name, tool: `${tag}_${i}`, decision: i % 2 ? 'ALLOW' : 'DENY' }));

  beforeAll(async () => {
    t = await startTestApp();
    const owner = await t.f.accountWithToken();
    token = owner.token;
    agent = await t.f.agent({ name: 'multi-bot', owner: owner.account });
  });

  afterAll(async () => {
    for (const c of clients) await c.dispose().catch(() => {});
    for (const a of apps) await a.stop().catch(() => {});
    await t?.close();
  });

  it.skipIf(backend === 'pglite')(
    'entries written through one instance reach subscribers on another, by NOTIFY (needs PostgreSQL: one PGlite database cannot be opened by two instances)',
    async () => {
      const writerApp = app(await t.testDb.open());
      // Catch-up far beyond the test's waits: delivery within them can only come from NOTIFY.
      const readerApp = app(await t.testDb.open(), { catchUpIntervalMs: 120_000 });
      await writerApp.start(0);
      const { url } = await readerApp.start(0);
      const c = openWsClient(url, { token });
      clients.push(c);
      await c.connected;
      const all = subscribeWs(c.client);
      const deny = subscribeWs(c.client, { filter: { result: 'DENY' } });
      await waitFor(() => readerApp.streamStats().feed.subscribers === 2, 10_000, 'subscriptions');

      const written: { id: string; seq: number }[] = [];
      const db = writerApp.core.database;
      await Promise.all(
        Array.from({ length: 10 }, async (_, w) => {
          for (let k = 0; k < 10; k++) written.push(...(await writeAuditEntries(db, writerApp.core, rows(3, `n${w}_${k}`))));
        }),
      );
      written.sort((a, b) => a.seq - b.seq);
      const started = Date.now();
      await waitFor(() => all.events.length >= written.length, 10_000, 'all entries on the other instance');
      expect(Date.now() - started).toBeLessThan(5_000);
      await sleep(300);
      expect(all.events.map((e) => e.node.id)).toEqual(written.map((e) => e.id));
      expect(deny.events).toHaveLength((written.length / 3) * 2); // rows(3): DENY, ALLOW, DENY
      expect(readerApp.streamStats().feed.ticks).toBeGreaterThan(0);
      all.stop();
      deny.stop();
    },
  );

  it.skipIf(backend === 'pglite')('without any wake-up at all (no event, no NOTIFY), the periodic catch-up still delivers every entry (needs PostgreSQL)', async () => {
    const readerApp = app(await t.testDb.open(), { catchUpIntervalMs: 300 });
    const { url } = await readerApp.start(0);
    const c = openWsClient(url, { token });
    clients.push(c);
    await c.connected;
    const s = subscribeWs(c.client);
    await waitFor(() => readerApp.streamStats().feed.subscribers === 1, 10_000, 'subscription');
    const written = await t.f.auditEntries(rows(25, 'quiet'));
    await waitFor(() => s.events.length >= written.length, 10_000, 'catch-up delivery');
    expect(s.events.map((e) => e.node.id)).toEqual([...written].sort((a, b) => Number(a.seq) - Number(b.seq)).map((e) => e.id));
    s.stop();
  });

  it('a server stopped and started again while writes continue: the client resumes from its last cursor and loses nothing', async () => {
    const first = app(t.testDb.database);
    const { port, url } = await first.start(0);
    let current: App = first;

    const received: StreamEvent[] = [];
    const c1 = openWsClient(url, { token });
    clients.push(c1);
    await c1.connected;
    const s1 = subscribeWs(c1.client, { filter: { agentId: agent.id } });
    await waitFor(() => first.streamStats().feed.subscribers === 1, 10_000, 'subscription');

    const written: { id: string; seq: number }[] = [];
    let writing = true;
    const writer = (async () => {
      for (let k = 0; writing; k++) {
        written.push(...(await writeAuditEntries(t.testDb.database, current.core, rows(3, `r${k}`))));
        await sleep(15);
      }
    })();

    await waitFor(() => s1.events.length >= 30, 10_000, 'events before the restart');
    await first.stop(); // the writer keeps writing while no server runs
    const closed = await c1.closed;
    expect(closed.code).toBe(1001);
    received.push(...s1.events);
    await sleep(200);

    const second = app(t.testDb.database);
    current = second;
    await second.start(port); // same address: the client only reconnects
    const c2 = openWsClient(url, { token });
    clients.push(c2);
    await c2.connected;
    const s2 = subscribeWs(c2.client, { filter: { agentId: agent.id }, after: received[received.length - 1].cursor });
    await waitFor(() => s2.events.length >= 30, 10_000, 'events after the restart');
    writing = false;
    await writer;
    written.sort((a, b) => a.seq - b.seq);
    // The subscription was registered before the first write: everything written is expected.
    const expected = written.map((w) => w.id);
    await waitFor(() => received.length + s2.events.length >= expected.length, 15_000, 'every entry');
    await sleep(300);
    expect([...received, ...s2.events].map((e) => e.node.id)).toEqual(expected);
    s2.stop();
  });
});
