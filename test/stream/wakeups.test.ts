import { graphql } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, encodeAuditCursor } from '@wicket/core';
import { repo, type NewAuditEntryRow } from '@wicket/db';
import { buildSchema, createGraphContext } from '@wicket/graph';
import { buildApp, type App } from '../../apps/server/src/app.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { TEST_SECRET } from '../support/factories.ts';
import { openWsClient, subscribeWs, waitFor, writeAuditEntries, type WsClientHandle } from '../support/stream-clients.ts';

/**
 * What wakes the group readers and what they read: `audit.committed` events that say which agents and
 * members a batch concerns let groups that can see none of them skip it without a read, but only when
 * every seq in between is accounted for; and the feed's own queries never take more than a few of the
 * pool's connections, however many subscribers catch up at once.
 */
/** Every field of an entry. */
const ENTRY_FIELDS = /* GraphQL */ `
  id timestamp agentId agentName memberId memberName memberKeyId sessionId service tool action resource callerIp toolArgs
  decision reason policyId matchedPolicyIds matchedPolicyNames matchedPolicies { id key name version effect } principal durationMs upstreamStatus upstreamError
`;
const FULL = /* GraphQL */ `
  subscription Full($filter: AuditFilter, $after: String) {
    auditEntryAdded(filter: $filter, after: $after) { cursor node { ${ENTRY_FIELDS} } }
  }
`;

describe('live audit stream: wake-ups and reads', () => {
  let t: TestApp;
  /** A server of its own without the periodic catch-up: only the events (and NOTIFY) wake its readers. */
  let app: App;
  let url: string;
  const clients: WsClientHandle[] = [];
  let alice: { token: string; account: { id: string; email: string } };
  let bob: { token: string; account: { id: string; email: string } };
  let aliceAgent: { id: string; name: string };
  let bobAgent: { id: string; name: string };

  const client = async (token: string) => {
    const c = openWsClient(url, { token });
    clients.push(c);
    await c.connected;
    return c;
  };

  /** One insert statement, then the event the proxy's audit writer emits for it (seq range, agents, members). */
  const commitAnnounced = async (rows: Partial<NewAuditEntryRow>[]) => {
    const inserted = await writeAuditEntries(t.testDb.database, null, rows);
    const seqs = inserted.map((r) => r.seq);
    app.core.events.emit('audit.committed', {
      maxSeq: Math.max(...seqs),
      minSeq: Math.min(...seqs),
      agentIds: [...new Set(rows.map((r) => r.agent_id!))],
      memberIds: [...new Set(rows.flatMap((r) => (r.member_id ? [r.member_id] : [])))],
    });
    return inserted;
  };
  const feed = () => app.streamStats().feed;

  beforeAll(async () => {
    t = await startTestApp();
    app = buildApp({ database: t.testDb.database, logger: createLogger({ level: 'silent' }), serverSecret: TEST_SECRET, stream: { catchUpIntervalMs: 3_600_000 } });
    url = (await app.start(0)).url;
    alice = await t.f.accountWithToken();
    bob = await t.f.accountWithToken();
    aliceAgent = await t.f.agent({ name: 'alice-bot', owner: alice.account });
    bobAgent = await t.f.agent({ name: 'bob-bot', owner: bob.account });
  });

  afterAll(async () => {
    for (const c of clients) await c.dispose().catch(() => {});
    await app?.stop();
    await t?.close();
  });

  it('groups that can see none of a batch skip it without a read, and lose nothing when a seq is unaccounted for', async () => {
    const a = subscribeWs((await client(alice.token)).client);
    const b = subscribeWs((await client(bob.token)).client);
    await waitFor(() => feed().subscribers === 2 && feed().live === 2, 10_000, 'both subscribers live');
    expect(feed().groups).toBe(2);

    // A batch for Alice's agent: Alice's group reads it, Bob's moves on without a read.
    const reads0 = feed().groupReads;
    const skipped0 = feed().skippedReads;
    const first = await commitAnnounced([{ agent_id: aliceAgent.id, agent_name: aliceAgent.name }, { agent_id: aliceAgent.id, agent_name: aliceAgent.name }]);
    await waitFor(() => a.events.length === 2, 10_000, "Alice's entries");
    await waitFor(() => feed().skippedReads > skipped0, 10_000, "Bob's group skipping the batch");
    expect(feed().groupReads - reads0).toBe(1);
    expect(a.events.map((e) => e.node.id)).toEqual(first.map((e) => e.id));

    // Bob's position moved past Alice's batch, not past anything of his.
    const bobs = await commitAnnounced([{ agent_id: bobAgent.id, agent_name: bobAgent.name }]);
    await waitFor(() => b.events.length === 1, 10_000, "Bob's entry");
    expect(b.events.map((e) => e.node.id)).toEqual(bobs.map((e) => e.id));

    // An entry for Bob that nobody announced (another instance, say), then an announced batch for Alice:
    // the range is not fully accounted for, so Bob's group must read it rather than skip past his entry.
    const unannounced = await writeAuditEntries(t.testDb.database, null, [{ agent_id: bobAgent.id, agent_name: bobAgent.name }]);
    const skipped1 = feed().skippedReads;
    const second = await commitAnnounced([{ agent_id: aliceAgent.id, agent_name: aliceAgent.name }]);
    await waitFor(() => b.events.length === 2 && a.events.length === 3, 10_000, 'the unannounced entry reaching Bob');
    expect(b.events.map((e) => e.node.id)).toEqual([...bobs, ...unannounced].map((e) => e.id));
    expect(a.events.map((e) => e.node.id)).toEqual([...first, ...second].map((e) => e.id));
    expect(feed().skippedReads).toBe(skipped1);

    a.stop();
    b.stop();
    await waitFor(() => feed().subscribers === 0, 10_000, 'released');
  });

  it('a group filtered by agent or member skips batches of other agents and members of the same owner', async () => {
    const other = await t.f.agent({ name: 'alice-other-bot', owner: alice.account });
    const c = await client(alice.token);
    const byAgent = subscribeWs(c.client, { filter: { agentId: other.id } });
    const all = subscribeWs(c.client);
    await waitFor(() => feed().subscribers === 2 && feed().live === 2, 10_000, 'both subscribers live');
    const skipped0 = feed().skippedReads;
    await commitAnnounced([{ agent_id: aliceAgent.id, agent_name: aliceAgent.name }]);
    await waitFor(() => all.events.length === 1, 10_000, 'the unfiltered subscriber');
    await waitFor(() => feed().skippedReads > skipped0, 10_000, 'the agent-filtered group skipping');
    const mine = await commitAnnounced([{ agent_id: other.id, agent_name: other.name }]);
    await waitFor(() => byAgent.events.length === 1 && all.events.length === 2, 10_000, 'the filtered entry');
    expect(byAgent.events.map((e) => e.node.id)).toEqual(mine.map((e) => e.id));
    byAgent.stop();
    all.stop();
    await waitFor(() => feed().subscribers === 0, 10_000, 'released');
  });

  it('groups that filter by equality share one read per pass and each receive exactly what their own query returns', async () => {
    // Carol owns one agent; Dave is a member of it (sees only his own entries there) and owns another.
    const carol = await t.f.accountWithToken();
    const dave = await t.f.accountWithToken();
    const carolAgent = await t.f.agent({ name: 'carol-bot', owner: carol.account });
    const daveAgent = await t.f.agent({ name: 'dave-bot', owner: dave.account });
    const daveMember = await t.f.member({ agentId: carolAgent.id, account: dave.account });
    const otherMember = await t.f.member({ agentId: carolAgent.id, account: (await t.f.accountWithToken()).account });
    const carolSocket = await client(carol.token);
    const daveSocket = await client(dave.token);
    const cases = [
      { who: carol, socket: carolSocket, filter: {} },
      { who: carol, socket: carolSocket, filter: { result: 'DENY' } },
      { who: carol, socket: carolSocket, filter: { service: 'slack' } },
      { who: carol, socket: carolSocket, filter: { member: otherMember.id.toUpperCase() } },
      { who: carol, socket: carolSocket, filter: { agentId: carolAgent.id, result: 'ALLOW' } },
      { who: dave, socket: daveSocket, filter: {} },
      { who: dave, socket: daveSocket, filter: { result: 'ALLOW', service: 'github' } },
      { who: dave, socket: daveSocket, filter: { agentId: carolAgent.id } },
    ];
    const subs = cases.map((c) => subscribeWs(c.socket.client, { filter: c.filter }));
    await waitFor(() => subs.some((x) => x.errors.length > 0) || (feed().subscribers === cases.length && feed().live === cases.length), 10_000, 'subscribers live');
    expect(subs.flatMap((x) => x.errors)).toEqual([]);
    const before = await app.core.audit.latestSeq();
    const shared0 = feed().sharedReads;
    const passes0 = feed().sharedGroupPasses;

    const rows: Partial<NewAuditEntryRow>[] = [];
    for (let i = 0; i < 60; i++) {
      const agent = i % 3 === 2 ? daveAgent : carolAgent;
      const member = agent === carolAgent ? [daveMember.id, otherMember.id, null][i % 3] : null;
      rows.push({ agent_id: agent.id, agent_name: agent.name, member_id: member, decision: i % 4 ? 'ALLOW' : 'DENY', service: i % 5 ? 'github' : 'slack' });
    }
    // Without agent and member ids in the event: every group reads (nothing is skipped).
    for (let i = 0; i < rows.length; i += 12) await writeAuditEntries(t.testDb.database, app.core, rows.slice(i, i + 12));

    const expected = await Promise.all(
      cases.map(async (c) => (await app.core.audit.listCommittedAfter(await app.core.access(await viewerOf(c.who.token)), app.core.audit.parseFilter(c.filter), before, 500)).map((e) => e.id)),
    );
    await waitFor(() => subs.every((s, i) => s.events.length >= expected[i].length), 10_000, 'deliveries');
    for (const [i, s] of subs.entries()) expect(s.events.map((e) => e.node.id), JSON.stringify(cases[i].filter)).toEqual(expected[i]);
    expect(expected.every((ids) => ids.length > 0)).toBe(true);
    expect(feed().sharedReads).toBeGreaterThan(shared0);
    expect(feed().sharedGroupPasses - passes0).toBeGreaterThanOrEqual(cases.length);
    for (const s of subs) s.stop();
    await waitFor(() => feed().subscribers === 0, 10_000, 'released');
  });

  it('statements that send their rows are handed out without a read; a statement that did not say what it holds is read', async () => {
    const erin = await t.f.accountWithToken();
    const erinAgent = await t.f.agent({ name: 'erin-bot', owner: erin.account });
    const member = await t.f.member({ agentId: erinAgent.id, account: (await t.f.accountWithToken()).account });
    const socket = await client(erin.token);
    // An entry before the subscribers, so that a cursor exists to replay from.
    await writeAuditEntries(t.testDb.database, null, [{ agent_id: erinAgent.id, agent_name: erinAgent.name }]);
    // Sharable groups (equality filters) only: every one of them can be served from the rows.
    const filters = [{}, { result: 'DENY' }, { service: 'slack' }, { member: member.id }, { agentId: erinAgent.id, result: 'ALLOW' }];
    const subs = filters.map((filter) => subscribeWs(socket.client, { filter }));
    // And every field of the entry, in the same group as the first.
    const full = subscribeWs(socket.client, {}, FULL);
    await waitFor(() => subs.some((x) => x.errors.length > 0) || (feed().subscribers === filters.length + 1 && feed().live === filters.length + 1), 10_000, 'subscribers live');
    expect(subs.flatMap((x) => x.errors).concat(full.errors)).toEqual([]);
    const before = await app.core.audit.latestSeq();
    const row = (i: number): Partial<NewAuditEntryRow> => ({
      agent_id: erinAgent.id,
      agent_name: erinAgent.name,
      member_id: i % 3 ? member.id : null,
      decision: i % 4 ? 'ALLOW' : 'DENY',
      service: i % 5 ? 'github' : 'slack',
      // Keys in an order jsonb does not keep: what is handed out is what is stored.
      tool_args: { zeta: i, alpha: { b: 'x', a: [1, 2.5, null] } },
      caller_ip: i % 2 ? '2001:db8:0:0:0:0:0:1' : '10.0.0.7',
    });
    const expected = async () =>
      Promise.all(filters.map(async (filter) => (await app.core.audit.listCommittedAfter(await app.core.access(await viewerOf(erin.token)), app.core.audit.parseFilter(filter), before, 500)).map((e) => e.id)));

    const s0 = feed();
    for (let k = 0; k < 6; k++) await writeAuditEntries(t.testDb.database, app.core, Array.from({ length: 5 }, (_, i) => row(k * 5 + i)), 'rows');
    let want = await expected();
    await waitFor(() => subs.every((s, i) => s.events.length >= want[i].length), 10_000, 'deliveries from the announced rows');
    for (const [i, s] of subs.entries()) expect(s.events.map((e) => e.node.id), JSON.stringify(filters[i])).toEqual(want[i]);
    const s1 = feed();
    expect(s1.memoryPasses).toBeGreaterThan(s0.memoryPasses);
    expect(s1.memoryGroupPasses - s0.memoryGroupPasses).toBeGreaterThanOrEqual(filters.length);
    expect(s1.groupReads).toBe(s0.groupReads);
    expect(s1.sharedReads).toBe(s0.sharedReads);
    // The entries as handed out are, to the byte, the entries as read from the table: a second subscriber
    // replaying from a cursor before them (every field, arguments and caller IP included).
    const marker = await t.testDb.database.db.selectFrom('audit_entries').select(['seq', 'timestamp', 'id']).where('seq', '=', before).executeTakeFirstOrThrow();
    const replay = subscribeWs(socket.client, { after: encodeAuditCursor({ seq: Number(marker.seq), timestamp: new Date(marker.timestamp), id: marker.id }) }, FULL);
    await waitFor(() => replay.events.length >= want[0].length, 10_000, 'the replay');
    expect(replay.events.slice(0, want[0].length)).toEqual(full.events);
    replay.stop();
    // ...and to what graphql-js's own execute makes of the same entries (the stream runs its operation
    // compiled by graphql-jit): the list query, executed in process, without Yoga.
    const listed = await graphql({
      schema: buildSchema(),
      source: `query($agentId: ID!) { auditEntries(first: 100, filter: { agentId: $agentId }) { edges { cursor node { ${ENTRY_FIELDS} } } } }`,
      variableValues: { agentId: erinAgent.id },
      contextValue: createGraphContext(app.core, await viewerOf(erin.token)),
    });
    expect(listed.errors).toBeUndefined();
    const edges = new Map((JSON.parse(JSON.stringify(listed.data)).auditEntries.edges as { node: { id: string } }[]).map((e) => [e.node.id, e]));
    expect(full.events.length).toBe(want[0].length);
    expect(full.events).toEqual(full.events.map((e) => edges.get(e.node.id)));

    // A statement that announced nothing, between two that sent their rows: that pass reads the table.
    const mark = await app.core.audit.latestSeq();
    await writeAuditEntries(t.testDb.database, app.core, [row(100), row(101)], 'rows');
    await waitFor(() => subs[0].events.length >= want[0].length + 2, 10_000, 'the first statement');
    await writeAuditEntries(t.testDb.database, null, [row(102), row(103)]);
    await writeAuditEntries(t.testDb.database, app.core, [row(104), row(105)], 'rows');
    want = await expected();
    await waitFor(() => subs.every((s, i) => s.events.length >= want[i].length), 10_000, 'deliveries after the silent statement');
    for (const [i, s] of subs.entries()) expect(s.events.map((e) => e.node.id), JSON.stringify(filters[i])).toEqual(want[i]);
    expect(await app.core.audit.latestSeq()).toBeGreaterThan(mark);
    const s2 = feed();
    expect(s2.sharedReads - s1.sharedReads + s2.groupReads - s1.groupReads).toBeGreaterThan(0);
    for (const s of [...subs, full]) s.stop();
    await waitFor(() => feed().subscribers === 0, 10_000, 'released');
  });

  it('many subscribers catching up at once use at most four connections for the feed', async () => {
    // 1,200 entries before the cursor's position: each subscriber needs three reads to catch up.
    const cursorEntries = await writeAuditEntries(t.testDb.database, null, [{ agent_id: aliceAgent.id, agent_name: aliceAgent.name }]);
    const page = await app.core.audit.list(await app.core.access(await viewerOf(alice.token)), { agentId: aliceAgent.id }, { first: 1 });
    const after = page.entries[0].cursor;
    expect(page.entries[0].id).toBe(cursorEntries[0].id);
    const backlog: string[] = [];
    for (let i = 0; i < 3; i++) {
      const rows = Array.from({ length: 400 }, () => ({ agent_id: aliceAgent.id, agent_name: aliceAgent.name }) as NewAuditEntryRow);
      for (const r of await repo.insertAuditEntries(t.testDb.database.db, rows.map((r) => ({ ...r, service: 'github', tool: 'x', decision: 'ALLOW', tool_args: '{}', matched_policies: '[]' })))) backlog.push(r.id);
    }

    const audit = app.core.audit;
    const original = audit.listCommittedAfter.bind(audit);
    let inFlight = 0;
    let maxInFlight = 0;
    audit.listCommittedAfter = async (...args: Parameters<typeof original>) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        return await original(...args);
      } finally {
        inFlight--;
      }
    };
    try {
      const sockets = await Promise.all([client(alice.token), client(alice.token)]);
      // Each one starts behind its group and catches up on its own, three reads each.
      const subs = Array.from({ length: 30 }, (_, i) => subscribeWs(sockets[i % 2].client, { after, filter: { agentId: aliceAgent.id } }));
      await waitFor(() => subs.every((s) => s.events.length === backlog.length), 60_000, 'every subscriber caught up');
      for (const s of subs) expect(s.events.map((e) => e.node.id)).toEqual(backlog);
      expect(maxInFlight).toBeGreaterThan(1);
      expect(maxInFlight).toBeLessThanOrEqual(4);
      for (const s of subs) s.stop();
    } finally {
      audit.listCommittedAfter = original;
    }
    await waitFor(() => feed().subscribers === 0, 10_000, 'released');
  });

  it('coalescing charges each socket write at least socketWriteCostUs: under steady commits passes space out, and nothing is lost', async () => {
    // Two servers on one database, five subscribers each, passes at most a second apart, a pass's cost
    // allowed half the time between passes (coalesceDuty 0.5, so a slow group read moves the window
    // little). One charges every socket write 40 ms (exaggerated, so the effect stands out of the reads'
    // own cost): a pass to five sockets "costs" 200 ms, and passes are spaced towards 200 / 0.5 = 400 ms,
    // below the 500 ms after which a window starts afresh. The other charges what it measures
    // (microseconds per write, plus its group read): its window stays far shorter. (With 5 ms and duty
    // 0.05, PGlite's group reads on a loaded CI machine, ~30 ms a pass, took the second server's window
    // to 586 ms against 524 ms for the first.)
    // The saturation rule is off: on PGlite the database runs on the test's own event loop, which this
    // write loop can keep busy enough to hold both servers' passes at the longest window.
    const options = (socketWriteCostUs: number) => ({
      database: t.testDb.database,
      logger: createLogger({ level: 'silent' }),
      serverSecret: TEST_SECRET,
      stream: { catchUpIntervalMs: 3_600_000, maxCoalesceMs: 1_000, coalesceDuty: 0.5, socketWriteCostUs, saturationThreshold: 1 },
    });
    const servers = [buildApp(options(40_000)), buildApp(options(0))];
    try {
      const subs: { events: { node: { id: string } }[] }[][] = [[], []];
      for (const [i, server] of servers.entries()) {
        const c = openWsClient((await server.start(0)).url, { token: alice.token });
        clients.push(c);
        await c.connected;
        for (let k = 0; k < 5; k++) subs[i].push(subscribeWs(c.client, { filter: { agentId: aliceAgent.id } }));
      }
      await waitFor(() => servers.every((s) => s.streamStats().feed.live === 5), 10_000, 'five live subscribers on each server');
      const ticks0 = servers.map((s) => s.streamStats().feed.ticks);
      const written: string[] = [];
      const windows = [0, 0];
      const until = Date.now() + 2_500;
      while (Date.now() < until) {
        const [row] = await writeAuditEntries(t.testDb.database, null, [{ agent_id: aliceAgent.id, agent_name: aliceAgent.name }]);
        written.push(row.id);
        for (const [i, s] of servers.entries()) {
          s.core.events.emit('audit.committed', { maxSeq: row.seq });
          windows[i] = Math.max(windows[i], s.streamStats().feed.coalesceMs);
        }
        await new Promise((r) => setTimeout(r, 5));
      }
      const ticks = servers.map((s, i) => s.streamStats().feed.ticks - ticks0[i]);
      expect(windows[0]).toBeGreaterThanOrEqual(300);
      // Relative, so that a slow machine's reads (which count for both) do not decide it.
      expect(windows[1]).toBeLessThan(windows[0] / 2);
      expect(ticks[0]).toBeLessThan(ticks[1]);
      await waitFor(() => subs.flat().every((s) => s.events.length === written.length), 10_000, 'every entry delivered');
      for (const s of subs.flat()) expect(s.events.map((e) => e.node.id)).toEqual(written);
    } finally {
      for (const s of servers) await s.stop();
    }
  });

  async function viewerOf(token: string) {
    const viewer = await app.core.auth.authenticate({ authorization: `Bearer ${token}` });
    if (!viewer) throw new Error('no viewer');
    return viewer;
  }
});
