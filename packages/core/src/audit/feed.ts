import type { Database } from '@wicket/db';
import type { Access, Viewer } from '../access.ts';
import type { AuthService } from '../auth.service.ts';
import { ForbiddenError, UnauthenticatedError } from '../errors.ts';
import type { CoreEventBus } from '../events.ts';
import type { Logger } from '../logger.ts';
import type { AuditEntry } from './audit-entry.ts';
import type { AuditService } from './audit.service.ts';
import { decodeAuditCursor } from './cursor.ts';
import { parseAuditFilter, type AuditFilter, type AuditFilterInput } from './filter.ts';

/**
 * The live audit stream (spec §8, conventions item 8; the design is written up in docs/live-stream.md).
 *
 * seq is drawn under a transaction-scoped advisory lock, so seq order is commit order and every snapshot
 * holds a prefix of it: once the largest visible seq (the head) is known, every smaller seq is final.
 * Readers therefore read `(position, head]` from the table and move to the head: nothing can be
 * skipped and nothing read twice. Notifications (the in-process `audit.committed` event, NOTIFY from
 * other instances, a periodic catch-up) only say "read again".
 *
 * Subscribers with the same normalised filter and the same visibility form a group: one reader per
 * group reads the table in batches and hands the same entry objects to every live member, so an event
 * is mapped (and, by the GraphQL layer, executed and serialised) once per group, not once per socket.
 * A subscriber that is behind the group (resuming from an old cursor, or too slow to keep up) reads the
 * table on its own until it reaches the group's position, then joins it; its memory stays bounded.
 */

export interface AuditFeedOptions {
  /** NOTIFY/LISTEN channel shared by every instance on one PostgreSQL. */
  channel?: string;
  /** Periodic read even without a notification, so a lost one only delays. */
  catchUpIntervalMs?: number;
  /** At most one NOTIFY per interval, however many batches commit. */
  notifyIntervalMs?: number;
  /** How often open streams re-check their credential (revocation, sign-out) and visibility. */
  credentialCheckMs?: number;
  /** Rows per read, for the group reader and for a subscriber catching up. */
  batchSize?: number;
}

export interface AuditFeedStats {
  running: boolean;
  listening: boolean;
  head: number;
  groups: number;
  subscribers: number;
  live: number;
  catchingUp: number;
  /** The longest subscriber queue (bounded: about two batches). */
  maxQueued: number;
  credentialWatchers: number;
  /** Table reads by group readers / by subscribers catching up. */
  groupReads: number;
  catchUpReads: number;
  notifiesSent: number;
  ticks: number;
}

export interface FeedDeps {
  database: Database;
  audit: AuditService;
  auth: AuthService;
  events: CoreEventBus;
  logger: Logger;
  loadAccess(viewer: Viewer): Promise<Access>;
}

interface Visibility {
  owner: string[];
  members: string[];
  hidden: string[];
  /** member id -> agent id, to tell whether a lost membership is still covered by ownership */
  memberAgents: Map<string, string>;
}

function visibilityOf(access: Access): Visibility {
  const owner = [...access.ownerAgentIds].sort();
  const members = [...access.ownMemberIds].sort();
  const hidden = access.visibleAgentIds.filter((a) => access.hidesPoliciesOf(a)).sort();
  const memberAgents = new Map<string, string>();
  for (const m of access.memberships) memberAgents.set(m.memberId, m.agentId);
  return { owner, members, hidden, memberAgents };
}

/** True when `now` shows less than `before` did (a lost agent or membership, newly hidden policies). */
function narrowed(before: Visibility, now: Visibility): boolean {
  const owner = new Set(now.owner);
  const members = new Set(now.members);
  if (before.owner.some((a) => !owner.has(a))) return true;
  if (before.members.some((m) => !members.has(m) && !owner.has(before.memberAgents.get(m) ?? ''))) return true;
  const hiddenBefore = new Set(before.hidden);
  return now.hidden.some((a) => !hiddenBefore.has(a));
}

function filterKey(f: AuditFilter): unknown[] {
  // tool and agent match case-insensitively, so their case does not make a new group.
  return [
    f.result ?? null,
    f.service ?? null,
    f.tool?.toLowerCase() ?? null,
    f.agent?.toLowerCase() ?? null,
    f.member?.toLowerCase() ?? null,
    f.policy?.toLowerCase() ?? null,
    f.agentId?.toLowerCase() ?? null,
    f.from?.getTime() ?? null,
    f.until?.getTime() ?? null,
  ];
}

function seqOf(entry: AuditEntry): number {
  return decodeAuditCursor(entry.cursor).seq;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Delivery time per event-loop turn before subscribers wait for the next turn. */
const SLICE_MS = 4;
/**
 * Minimum time between two read passes (the first wake-up after a quiet spell reads at once): 10 ms,
 * plus 2 ms per group beyond five, up to a second, since a pass costs one query per group. Under a
 * steady stream of commits this bounds the readers' queries (about 500/s past a few groups), however
 * many distinct filters are open, at the price of some latency when there are very many.
 */
function tickIntervalMs(groups: number): number {
  return Math.min(1000, Math.max(10, 2 * groups));
}

/** A small FIFO that does not copy on every shift. */
class Queue<T> {
  private items: T[] = [];
  private head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  push(item: T): void {
    this.items.push(item);
  }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined as T;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

class Group {
  readonly live = new Set<FeedSubscription>();
  readonly members = new Set<FeedSubscription>();
  /** Every matching entry with seq <= position has been handed to the live members. */
  position: number;
  private pumping: Promise<void> | undefined;

  constructor(
    readonly key: string,
    private readonly feed: AuditFeed,
    readonly access: Access,
    readonly filter: AuditFilter,
    readonly visibility: Visibility,
    position: number,
  ) {
    this.position = position;
  }

  attach(sub: FeedSubscription): void {
    this.live.add(sub);
  }

  detach(sub: FeedSubscription): void {
    this.live.delete(sub);
  }

  remove(sub: FeedSubscription): void {
    this.live.delete(sub);
    this.members.delete(sub);
    if (this.members.size === 0) this.feed.dropGroup(this);
  }

  /** Reads (position, head] in batches and hands each entry to every live member. */
  pump(head: number): Promise<void> {
    this.pumping ??= this.read(head).finally(() => {
      this.pumping = undefined;
    });
    return this.pumping;
  }

  private async read(head: number): Promise<void> {
    const batch = this.feed.batchSize;
    while (this.position < head && this.live.size > 0 && this.feed.running) {
      const entries = await this.feed.readCommitted(this.access, this.filter, this.position, batch, head, 'group');
      for (const entry of entries) {
        const seq = seqOf(entry);
        for (const sub of this.live) sub.push(entry, seq);
      }
      this.position = entries.length < batch ? head : seqOf(entries[entries.length - 1]);
      if (entries.length === batch) await this.drain(batch);
    }
  }

  /**
   * Backpressure during a burst: before reading more, wait for the members to take most of what they
   * were given, so the group never buffers more than about two batches. A few stragglers (a slow client)
   * leave the group after a second and catch up on their own, so they hold up no one. When most members
   * are behind, the server itself is the bottleneck: the group waits (up to 30 s) rather than sending
   * everyone to read and map the same rows on their own.
   */
  private async drain(batch: number): Promise<void> {
    const started = Date.now();
    while (this.feed.running && this.live.size > 0) {
      let behind = 0;
      for (const sub of this.live) if (sub.queued > batch) behind++;
      if (behind === 0) return;
      const waited = Date.now() - started;
      if ((waited >= 1000 && behind * 2 <= this.live.size) || waited >= 30_000) {
        for (const sub of [...this.live]) if (sub.queued > batch) sub.fallBehind();
        return;
      }
      await sleep(5);
    }
  }
}

/** One subscriber's stream: an async iterator of entries in seq order, without gaps or repeats. */
export class FeedSubscription implements AsyncIterableIterator<AuditEntry> {
  private readonly queue = new Queue<AuditEntry>();
  /** Every matching entry with seq <= pos is queued or delivered. */
  private pos: number;
  private mode: 'catchup' | 'live' = 'catchup';
  private waiter: (() => void) | undefined;
  private finished = false;
  /** Ended by the consumer (return): pending and later next() calls never settle. */
  private abandoned = false;
  private granted = false;
  private failure: Error | undefined;
  private readonly cleanups: (() => void)[] = [];

  constructor(
    private readonly feed: AuditFeed,
    readonly group: Group,
    readonly viewer: Viewer,
    afterSeq: number,
  ) {
    this.pos = afterSeq;
    group.members.add(this);
    this.cleanups.push(feed.watchCredential(viewer, () => this.fail(new UnauthenticatedError('the credential of this stream was revoked or signed out'))));
  }

  get queued(): number {
    return this.queue.length;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Called by the group reader, in seq order. */
  push(entry: AuditEntry, seq: number): void {
    if (seq <= this.pos || this.finished) return;
    // The group keeps healthy members within about two batches (see Group.drain); past four, this one
    // is a straggler.
    if (this.queue.length >= 4 * this.feed.batchSize) {
      // A consumer slower than the stream: leave the group and read the table at its own pace; pos is
      // not advanced, so this entry is read again then. Its memory stays bounded.
      this.fallBehind();
      return;
    }
    this.queue.push(entry);
    this.pos = seq;
    this.wake();
  }

  /**
   * Ends the stream when the HTTP client is gone. Deferred a moment: when the HTTP layer cancels the
   * response itself (the usual case) return() runs first and this finds nothing to do; when the client
   * left before the response was wired up, nobody cancels, and ending normally lets the response close.
   */
  endWith(signal: AbortSignal): void {
    const end = () => {
      const timer = setTimeout(() => this.close(), 250);
      timer.unref?.();
    };
    if (signal.aborted) return end();
    signal.addEventListener('abort', end, { once: true });
    this.cleanups.push(() => signal.removeEventListener('abort', end));
  }

  fallBehind(): void {
    if (this.mode !== 'live') return;
    this.mode = 'catchup';
    this.group.detach(this);
  }

  fail(error: Error): void {
    if (this.finished) return;
    this.failure = error;
    this.close();
  }

  async next(): Promise<IteratorResult<AuditEntry>> {
    while (true) {
      if (this.abandoned) return new Promise<never>(() => {});
      if (this.failure) {
        const error = this.failure;
        this.failure = undefined;
        throw error;
      }
      if (this.finished) return { value: undefined, done: true };
      if (this.queue.length > 0) {
        // A subscriber given its turn delivers at least one entry before it can be asked to wait again.
        const turn = this.granted ? undefined : this.feed.pace();
        if (turn) {
          await turn;
          this.granted = true;
          continue;
        }
        this.granted = false;
        return { value: this.queue.shift()!, done: false };
      }
      if (this.mode === 'catchup') await this.catchUp();
      else await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }

  /**
   * The consumer went away (socket closed, SSE client disconnected, `complete` sent). A next() still
   * pending is left unsettled on purpose: on Node 20 a streamed HTTP response whose source ends after
   * the client cancelled it closes an already closed ReadableStream inside undici, an uncaught
   * exception. Nothing references the subscription afterwards, so the pending promise is collected.
   */
  async return(): Promise<IteratorResult<AuditEntry>> {
    if (!this.finished) {
      this.abandoned = true;
      this.waiter = undefined;
      this.close();
    }
    return { value: undefined, done: true };
  }

  async throw(error?: unknown): Promise<IteratorResult<AuditEntry>> {
    this.close();
    throw error;
  }

  close(): void {
    if (this.finished) return;
    this.finished = true;
    this.queue.clear();
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    this.group.remove(this);
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  /** Reads the table up to the group's position, then joins the group (no await between check and join). */
  private async catchUp(): Promise<void> {
    const target = this.group.position;
    if (this.pos >= target) {
      this.mode = 'live';
      this.group.attach(this);
      this.feed.requestTick();
      return;
    }
    const batch = this.feed.batchSize;
    const entries = await this.feed.readCommitted(this.group.access, this.group.filter, this.pos, batch, target, 'catchup');
    if (this.finished) return;
    for (const entry of entries) {
      const seq = seqOf(entry);
      if (seq <= this.pos) continue;
      this.queue.push(entry);
      this.pos = seq;
    }
    if (entries.length < batch) this.pos = Math.max(this.pos, target);
  }
}

interface CredentialWatch {
  viewer: Viewer;
  onRevoked: () => void;
}

/** One per process: wakes group readers, keeps the LISTEN, re-checks credentials of open streams. */
export class AuditFeed {
  readonly channel: string;
  readonly batchSize: number;
  running = false;
  private readonly catchUpIntervalMs: number;
  private readonly notifyIntervalMs: number;
  private readonly credentialCheckMs: number;
  private readonly groups = new Map<string, Group>();
  private readonly watches = new Set<CredentialWatch>();
  private head = 0;
  private lastTickAt = -Infinity;
  private tickTimer: ReturnType<typeof setTimeout> | undefined;
  /** Largest seq committed in this process since the last tick (from `audit.committed`). */
  private committedHint = 0;
  private ticking: Promise<void> | undefined;
  private tickAgain = false;
  private timers: ReturnType<typeof setInterval>[] = [];
  private notifyTimer: ReturnType<typeof setTimeout> | undefined;
  private lastNotifyAt = 0;
  private pendingNotifySeq = 0;
  private unlisten: (() => Promise<void>) | undefined;
  private offCommitted: (() => void) | undefined;
  private starting: Promise<void> | undefined;
  private checking = false;
  private sliceStart = 0;
  private sliceOpen = false;
  private paceWaiters: (() => void)[] = [];
  private turnScheduled = false;
  private readonly counters = { groupReads: 0, catchUpReads: 0, notifiesSent: 0, ticks: 0 };

  constructor(
    private readonly deps: FeedDeps,
    options: AuditFeedOptions = {},
  ) {
    this.channel = options.channel ?? 'wicket_audit';
    this.catchUpIntervalMs = options.catchUpIntervalMs ?? 1000;
    this.notifyIntervalMs = options.notifyIntervalMs ?? 25;
    this.credentialCheckMs = options.credentialCheckMs ?? 2000;
    this.batchSize = options.batchSize ?? 500;
  }

  /** Idempotent; subscribe() starts the feed on first use, so in-process callers need not. */
  start(): Promise<void> {
    if (this.running) return Promise.resolve();
    this.starting ??= (async () => {
      this.running = true;
      this.offCommitted = this.deps.events.on('audit.committed', ({ maxSeq }) => this.onCommitted(maxSeq));
      this.timers.push(setInterval(() => this.onCatchUpTimer(), this.catchUpIntervalMs));
      this.timers.push(setInterval(() => void this.checkCredentials(), this.credentialCheckMs));
      for (const t of this.timers) t.unref?.();
      await this.listen();
    })().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  async stop(): Promise<void> {
    if (this.starting) await this.starting.catch(() => {});
    if (!this.running) return;
    this.running = false;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    if (this.notifyTimer) clearTimeout(this.notifyTimer);
    this.notifyTimer = undefined;
    if (this.tickTimer) clearTimeout(this.tickTimer);
    this.tickTimer = undefined;
    this.offCommitted?.();
    this.offCommitted = undefined;
    const unlisten = this.unlisten;
    this.unlisten = undefined;
    await unlisten?.().catch(() => {});
    for (const group of [...this.groups.values()]) for (const sub of [...group.members]) sub.close();
    this.groups.clear();
    this.watches.clear();
    await this.ticking?.catch(() => {});
  }

  /**
   * A stream of the entries the viewer may see that match the filter, committed after `after` (a
   * cursor from the list or from a previous event), or from now on without it.
   */
  async subscribe(
    access: Access,
    input: AuditFilterInput | null | undefined,
    after?: string | null,
    options: { signal?: AbortSignal } = {},
  ): Promise<FeedSubscription> {
    const filter = parseAuditFilter(input);
    const from = after ? decodeAuditCursor(after).seq : undefined;
    await this.start();
    const afterSeq = from ?? (await this.deps.audit.latestSeq());
    if (!this.running) throw new ForbiddenError('the server is shutting down');
    const visibility = visibilityOf(access);
    const key = JSON.stringify([filterKey(filter), visibility.owner, visibility.members, visibility.hidden]);
    let group = this.groups.get(key);
    if (!group) {
      const position = await this.currentHead();
      group = this.groups.get(key);
      if (!group) {
        group = new Group(key, this, access, filter, visibility, position);
        this.groups.set(key, group);
      }
    }
    const sub = new FeedSubscription(this, group, access.viewer, afterSeq);
    if (options.signal) sub.endWith(options.signal);
    return sub;
  }

  /**
   * Calls onRevoked once the viewer's API token is revoked or session signed out. One check per
   * distinct credential per interval, shared by every socket and stream that uses it.
   */
  watchCredential(viewer: Viewer, onRevoked: () => void): () => void {
    const watch: CredentialWatch = { viewer, onRevoked };
    this.watches.add(watch);
    return () => {
      this.watches.delete(watch);
    };
  }

  /**
   * Asks every group reader to read again. Coalesced: at most one pass running and one queued, and
   * passes start at least tickIntervalMs() apart, so under a steady stream of commits each pass reads
   * several entries with one query per group instead of one pass per commit.
   */
  requestTick(): void {
    if (!this.running) return;
    if (this.ticking || this.tickTimer) {
      this.tickAgain = true;
      return;
    }
    const wait = this.lastTickAt + tickIntervalMs(this.groups.size) - performance.now();
    if (wait > 0) {
      this.tickTimer = setTimeout(() => {
        this.tickTimer = undefined;
        this.tickAgain = false;
        this.requestTick();
      }, wait);
      return;
    }
    this.lastTickAt = performance.now();
    this.ticking = this.tick().finally(() => {
      this.ticking = undefined;
      if (this.tickAgain && this.running) {
        this.tickAgain = false;
        this.requestTick();
      }
    });
  }

  stats(): AuditFeedStats {
    let subscribers = 0;
    let live = 0;
    let maxQueued = 0;
    for (const g of this.groups.values()) {
      subscribers += g.members.size;
      live += g.live.size;
      for (const sub of g.members) maxQueued = Math.max(maxQueued, sub.queued);
    }
    return {
      running: this.running,
      listening: !!this.unlisten,
      head: this.head,
      groups: this.groups.size,
      subscribers,
      live,
      catchingUp: subscribers - live,
      maxQueued,
      credentialWatchers: this.watches.size,
      ...this.counters,
    };
  }

  /**
   * @internal Fair share of the event loop for delivery. A socket's write callback comes back on
   * process.nextTick, so a subscriber with a queue would otherwise send it all in one go, and a burst
   * to many subscribers would hold the loop for seconds, starving the proxy's own audit writes. A slice
   * opens with the first delivery of an event-loop turn and closes at that turn's check phase; past a
   * few milliseconds in one slice, subscribers wait for the next turn, where each sends at least one
   * entry (so a turn lasts at most a slice plus one send per waiting subscriber). I/O runs in between;
   * when the loop is idle nothing waits.
   */
  pace(): Promise<void> | undefined {
    const now = performance.now();
    if (!this.sliceOpen) {
      this.sliceOpen = true;
      this.sliceStart = now;
      this.scheduleTurn();
    }
    if (now - this.sliceStart < SLICE_MS) return undefined;
    return new Promise<void>((resolve) => {
      this.paceWaiters.push(resolve);
      this.scheduleTurn();
    });
  }

  private scheduleTurn(): void {
    if (this.turnScheduled) return;
    this.turnScheduled = true;
    setImmediate(() => {
      this.turnScheduled = false;
      this.sliceOpen = false;
      for (const resolve of this.paceWaiters.splice(0)) resolve();
    });
  }

  /** @internal used by groups and subscriptions */
  async readCommitted(access: Access, filter: AuditFilter, afterSeq: number, limit: number, throughSeq: number, by: 'group' | 'catchup'): Promise<AuditEntry[]> {
    if (by === 'group') this.counters.groupReads++;
    else this.counters.catchUpReads++;
    return this.deps.audit.listCommittedAfter(access, filter, afterSeq, limit, throughSeq);
  }

  /** @internal */
  dropGroup(group: Group): void {
    if (this.groups.get(group.key) === group) this.groups.delete(group.key);
  }

  /** A fresh head for a new group: its reader starts there (the feed's own may be stale while idle). */
  private async currentHead(): Promise<number> {
    this.head = Math.max(this.head, await this.deps.audit.latestSeq());
    return this.head;
  }

  private async tick(): Promise<void> {
    if (this.groups.size === 0) return;
    this.counters.ticks++;
    try {
      // Every seq up to the head is final (committed or never will be): see the class comment. The
      // max seq of a batch this process saw commit is such a head too, without asking the database.
      const hint = this.committedHint;
      this.committedHint = 0;
      const head = hint > this.head ? hint : await this.deps.audit.latestSeq();
      if (head > this.head) this.head = head;
      const pending = [...this.groups.values()].filter((g) => g.position < this.head && g.live.size > 0);
      // A few readers at a time: the connection pool also serves the proxy's writes.
      const worker = async () => {
        for (let g = pending.shift(); g; g = pending.shift()) await g.pump(this.head);
      };
      await Promise.all(Array.from({ length: Math.min(4, pending.length) }, worker));
    } catch (err) {
      if (this.running) this.deps.logger.warn({ err }, 'live audit stream: read failed; retrying on the next wake-up');
    }
  }

  private onCommitted(maxSeq: number): void {
    if (maxSeq > this.committedHint) this.committedHint = maxSeq;
    this.requestTick();
    // Other instances learn of it by NOTIFY, sent after the commit (the event fires after it) and
    // coalesced. PGlite has no other instance: the in-process event is the whole signal there.
    if (this.deps.database.kind !== 'postgres') return;
    this.pendingNotifySeq = Math.max(this.pendingNotifySeq, maxSeq);
    if (this.notifyTimer) return;
    const wait = Math.max(0, this.lastNotifyAt + this.notifyIntervalMs - Date.now());
    this.notifyTimer = setTimeout(() => {
      this.notifyTimer = undefined;
      this.lastNotifyAt = Date.now();
      this.counters.notifiesSent++;
      this.deps.database.notify(this.channel, String(this.pendingNotifySeq)).catch((err) => {
        this.deps.logger.warn({ err }, 'live audit stream: NOTIFY failed; other instances catch up periodically');
      });
    }, wait);
  }

  private readonly onNotify = (payload: string): void => {
    const seq = Number(payload);
    // Our own NOTIFY usually arrives after the in-process wake-up has already read that far.
    if (Number.isFinite(seq) && seq > 0 && seq <= this.head) return;
    this.requestTick();
  };

  private async listen(): Promise<void> {
    try {
      // Calling listen again with the same handler is how the LISTEN connection heals after a loss.
      const unlisten = await this.deps.database.listen(this.channel, this.onNotify);
      if (this.running) this.unlisten = unlisten;
      else await unlisten(); // stopped meanwhile
    } catch (err) {
      this.deps.logger.warn({ err }, 'live audit stream: LISTEN failed; relying on periodic catch-up');
    }
  }

  private onCatchUpTimer(): void {
    if (!this.running || this.groups.size === 0) return;
    if (this.deps.database.kind === 'postgres') void this.listen();
    this.requestTick();
  }

  /** Ends streams whose credential was revoked, and streams whose viewer now sees less than before. */
  private async checkCredentials(): Promise<void> {
    if (this.checking || !this.running) return;
    this.checking = true;
    try {
      const byCredential = new Map<string, CredentialWatch[]>();
      for (const w of this.watches) {
        const k = `${w.viewer.credential.kind}:${w.viewer.credential.id}`;
        const list = byCredential.get(k);
        if (list) list.push(w);
        else byCredential.set(k, [w]);
      }
      for (const list of byCredential.values()) {
        if (!this.running) return;
        let active = true;
        try {
          active = await this.deps.auth.isCredentialActive(list[0].viewer);
        } catch {
          // The database being briefly unavailable is not a revocation.
        }
        if (!active) for (const w of list) w.onRevoked();
      }

      const byAccount = new Map<string, FeedSubscription[]>();
      for (const g of this.groups.values()) {
        for (const sub of g.members) {
          const list = byAccount.get(sub.viewer.accountId);
          if (list) list.push(sub);
          else byAccount.set(sub.viewer.accountId, [sub]);
        }
      }
      for (const subs of byAccount.values()) {
        if (!this.running) return;
        let now: Visibility;
        try {
          now = visibilityOf(await this.deps.loadAccess(subs[0].viewer));
        } catch {
          continue;
        }
        for (const sub of subs) {
          if (narrowed(sub.group.visibility, now)) {
            sub.fail(new ForbiddenError('what this account may see has changed; subscribe again'));
          }
        }
      }
    } finally {
      this.checking = false;
    }
  }
}
