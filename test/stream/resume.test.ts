import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.ts';
import { openWsClient, subscribeSse, subscribeWs, waitFor, writeAuditEntries, type WsClientHandle } from '../support/stream-clients.ts';

describe('live audit stream: resuming with after', () => {
  let t: TestApp;
  let url: string;
  let token: string;
  let agent: { id: string; name: string };
  const clients: WsClientHandle[] = [];
  let n = 0;

  const write = (count: number, extra: Record<string, unknown> = {}) =>
    writeAuditEntries(
      t.testDb.database,
      t.app.core,
      Array.from({ length: count }, () => ({ agent_id: agent.id, agent_name: agent.name, tool: `tool_${++n}`, decision: n % 3 === 0 ? 'DENY' : 'ALLOW', ...extra })),
    );
  const client = async () => {
    const c = openWsClient(url, { token });
    clients.push(c);
    await c.connected;
    return c;
  };

  beforeAll(async () => {
    t = await startTestApp();
    url = await t.listen();
    const owner = await t.f.accountWithToken();
    token = owner.token;
    agent = await t.f.agent({ name: 'resume-bot', owner: owner.account });
  });

  afterAll(async () => {
    for (const c of clients) await c.dispose().catch(() => {});
    await t?.close();
  });

  it('replays from a cursor of the auditEntries list, then goes live, with no gap and no repeat', async () => {
    const before = await write(5);
    const list = await t.graphql<any>('{ auditEntries(first: 50) { edges { cursor node { id } } } }', {}, token);
    const edges = list.body.data.auditEntries.edges as { cursor: string; node: { id: string } }[];
    const second = edges.find((e) => e.node.id === before[1].id)!;

    const c = await client();
    const s = subscribeWs(c.client, { after: second.cursor });
    const sse = subscribeSse(url, { token }, { after: second.cursor });
    await waitFor(() => s.events.length === 3 && sse.events.length === 3, 10_000, 'replay');
    const live = await write(4);
    const expected = [...before.slice(2), ...live].map((e) => e.id);
    await waitFor(() => s.events.length === expected.length && sse.events.length === expected.length, 10_000, 'live');
    await new Promise((r) => setTimeout(r, 200));
    expect(s.events.map((e) => e.node.id)).toEqual(expected);
    expect(sse.events.map((e) => e.node.id)).toEqual(expected);
    s.stop();
    sse.stop();
  });

  it('resumes from the last event it saw, and that cursor also pages the list', async () => {
    const c = await client();
    const first = subscribeWs(c.client, { filter: { result: 'DENY' } });
    await waitFor(() => t.app.streamStats().feed.subscribers === 1, 10_000, 'subscription');
    const a = await write(9);
    const deniedA = a.filter((_, i) => (n - 9 + i + 1) % 3 === 0).map((e) => e.id);
    await waitFor(() => first.events.length === deniedA.length, 10_000, 'first events');
    first.stop();
    const last = first.events[first.events.length - 1].cursor;

    // Written while nobody listened.
    const b = await write(9);
    const deniedB = b.filter((_, i) => (n - 9 + i + 1) % 3 === 0).map((e) => e.id);
    const resumed = subscribeWs(c.client, { filter: { result: 'DENY' }, after: last });
    await waitFor(() => resumed.events.length === deniedB.length, 10_000, 'resumed events');
    const c2 = await write(3);
    const deniedC = c2.filter((_, i) => (n - 3 + i + 1) % 3 === 0).map((e) => e.id);
    await waitFor(() => resumed.events.length === deniedB.length + deniedC.length, 10_000, 'live after resume');
    expect(resumed.events.map((e) => e.node.id)).toEqual([...deniedB, ...deniedC]);
    resumed.stop();

    // The stream's cursor works as the list's `after`: older entries, newest first.
    const page = await t.graphql<any>('query($after: String) { auditEntries(first: 2, after: $after, filter: { result: DENY }) { edges { node { id } } } }', { after: last }, token);
    expect(page.body.errors).toBeUndefined();
    const all = await t.graphql<any>('{ auditEntries(first: 500, filter: { result: DENY }) { edges { node { id } } } }', {}, token);
    const ids = all.body.data.auditEntries.edges.map((e: any) => e.node.id) as string[];
    const at = ids.indexOf(first.events[first.events.length - 1].node.id);
    expect(at).toBeGreaterThanOrEqual(0);
    expect(page.body.data.auditEntries.edges.map((e: any) => e.node.id)).toEqual(ids.slice(at + 1, at + 3));
  });

  it('has no seam: a long replay while writers keep committing delivers each entry exactly once, in seq order', async () => {
    const start = await write(1);
    const list = await t.graphql<any>('{ auditEntries(first: 1) { edges { cursor node { id } } } }', {}, token);
    const cursor = list.body.data.auditEntries.edges[0].cursor;
    expect(list.body.data.auditEntries.edges[0].node.id).toBe(start[0].id);
    const backlog = await write(1300); // more than two read batches
    const c = await client();
    const s = subscribeWs(c.client, { after: cursor });
    const written: { id: string; seq: number }[] = [...backlog];
    for (let i = 0; i < 10; i++) {
      written.push(...(await write(20)));
      await new Promise((r) => setTimeout(r, 10));
    }
    written.sort((x, y) => x.seq - y.seq);
    await waitFor(() => s.events.length >= written.length, 30_000, 'all entries');
    await new Promise((r) => setTimeout(r, 300));
    expect(s.events.map((e) => e.node.id)).toEqual(written.map((e) => e.id));
    s.stop();
  });

  it('without after, starts at the latest entry', async () => {
    await write(3);
    const c = await client();
    const s = subscribeWs(c.client);
    await waitFor(() => t.app.streamStats().feed.subscribers >= 1, 10_000, 'subscription');
    await new Promise((r) => setTimeout(r, 300));
    expect(s.events).toEqual([]);
    const live = await write(2);
    await waitFor(() => s.events.length === 2, 10_000, 'live');
    expect(s.events.map((e) => e.node.id)).toEqual(live.map((e) => e.id));
    s.stop();
  });
});
