import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RateLimiter } from '@wicket/core';
import { startProxyWorld, type CallerSetup, type ProxyWorld } from './harness.ts';

// Spec §4: a token bucket per member key (burst 60, about 1/s by default; configurable). Over the limit:
// 429 with Retry-After, JSON-RPC -32600, no audit entry, counted in metrics.

describe('rate limit per member key', () => {
  let w: ProxyWorld;
  let c: CallerSetup;
  let ms = 0;

  beforeAll(async () => {
    w = await startProxyWorld({ proxy: { rateLimit: { burst: 5, refillPerSecond: 1, now: () => ms } } });
    c = await w.caller({ services: ['github'] });
  });
  afterAll(async () => w?.close());

  it('lets a burst through, then answers 429 with Retry-After and writes no entry', async () => {
    for (let i = 0; i < 5; i++) expect((await w.callTool(c.key, 'github__list_repositories', { owner: 'a' })).status).toBe(200);
    const over = await w.callTool(c.key, 'github__list_repositories', { owner: 'a' });
    expect(over.status).toBe(429);
    expect(over.headers.get('retry-after')).toBe('1');
    expect(over.body.error.code).toBe(-32600);
    expect(await w.entries(c.agent.id)).toHaveLength(5);
    // Every request spends a token, tools/list included.
    expect((await w.rpc(c.key, { jsonrpc: '2.0', id: 1, method: 'tools/list' })).status).toBe(429);

    const metrics = await (await fetch(`${w.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/wicket_proxy_requests_total\{outcome="rate_limited"\} 2/);
  });

  it('limits each key on its own, and refills over time', async () => {
    const other = await w.memberOf(c.agent.id);
    expect((await w.callTool(other.key, 'github__list_repositories', { owner: 'a' })).status).toBe(200);
    ms += 1000;
    expect((await w.callTool(c.key, 'github__list_repositories', { owner: 'a' })).status).toBe(200);
    expect((await w.callTool(c.key, 'github__list_repositories', { owner: 'a' })).status).toBe(429);
    ms += 10_000;
    for (let i = 0; i < 5; i++) expect((await w.callTool(c.key, 'github__list_repositories', { owner: 'a' })).status).toBe(200);
    expect((await w.callTool(c.key, 'github__list_repositories', { owner: 'a' })).status).toBe(429);
  });

  it('comes after authentication: an unknown key is a 401, whatever its rate', async () => {
    for (let i = 0; i < 8; i++) expect((await w.callTool('wk_test_unknown', 'github__list_repositories', {})).status).toBe(401);
  });
});

describe('RateLimiter', () => {
  it('defaults to burst 60 and one token a second, and says how long to wait', () => {
    let ms = 0;
    const limiter = new RateLimiter({ now: () => ms });
    for (let i = 0; i < 60; i++) expect(limiter.take('k').ok).toBe(true);
    expect(limiter.take('k')).toEqual({ ok: false, retryAfterSeconds: 1 });
    ms += 999;
    expect(limiter.take('k').ok).toBe(false);
    ms += 1;
    expect(limiter.take('k').ok).toBe(true);

    const slow = new RateLimiter({ burst: 1, refillPerSecond: 0.25, now: () => ms });
    expect(slow.take('k').ok).toBe(true);
    expect(slow.take('k')).toEqual({ ok: false, retryAfterSeconds: 4 });
  });

  it('forgets idle keys once there are many, so memory stays bounded', () => {
    let ms = 0;
    const limiter = new RateLimiter({ burst: 2, refillPerSecond: 1, now: () => ms });
    for (let i = 0; i < 10_000; i++) limiter.take(`k${i}`);
    ms += 5_000;
    limiter.take('fresh');
    expect(limiter.size).toBe(1);
  });
});

describe('load shedding', () => {
  let w: ProxyWorld;
  let c: CallerSetup;

  beforeAll(async () => {
    w = await startProxyWorld({ proxy: { rateLimit: false, maxPendingDecisions: 3 } });
    c = await w.caller({ services: ['github'] });
  });
  afterAll(async () => w?.close());

  it('past maxPendingDecisions waiting for the database, answers 503 + Retry-After at once, writes nothing; the waiting calls complete', async () => {
    const db = w.testDb.database.db;
    let unlock!: () => void;
    const held = new Promise<void>((r) => (unlock = r));
    let locked!: () => void;
    const lockTaken = new Promise<void>((r) => (locked = r));
    // Every key lookup now waits for this transaction (on PGlite, every query does).
    const tx = db.transaction().execute(async (trx) => {
      await sql`lock table member_keys in access exclusive mode`.execute(trx);
      locked();
      await held;
    });
    await lockTaken;
    const waiting = [1, 2, 3].map((i) => w.callTool(c.key, 'github__list_repositories', { owner: `wait-${i}` }));
    await new Promise((r) => setTimeout(r, 300));
    const t = performance.now();
    const shed = await w.callTool(c.key, 'github__list_repositories', { owner: 'shed' });
    expect(performance.now() - t).toBeLessThan(1_000);
    expect(shed.status).toBe(503);
    expect(shed.headers.get('retry-after')).toBe('1');
    expect(shed.body.error.code).toBe(-32603);
    expect(shed.body.error.message).toMatch(/overloaded/);
    unlock();
    await tx;
    expect((await Promise.all(waiting)).map((a) => a.status)).toEqual([200, 200, 200]);
    const entries = await w.entries(c.agent.id);
    expect(entries.map((e) => (e.tool_args as { owner: string }).owner).sort()).toEqual(['wait-1', 'wait-2', 'wait-3']);
    // The slots are free again.
    expect((await w.callTool(c.key, 'github__list_repositories', { owner: 'after' })).status).toBe(200);
    const metrics = await (await fetch(`${w.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/wicket_proxy_requests_total\{outcome="overloaded"\} 1/);
  });
});
