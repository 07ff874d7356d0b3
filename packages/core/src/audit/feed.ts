import { performance as perfHooks, type EventLoopUtilization } from 'node:perf_hooks';
import { repo, type AuditEntryRow, type Database } from '@wicket/db';
import type { Access, Viewer } from '../access.ts';
import type { AuthService } from '../auth.service.ts';
import { ForbiddenError, UnauthenticatedError } from '../errors.ts';
import type { AuditCommitted, CoreEventBus } from '../events.ts';
import type { Logger } from '../logger.ts';
import { toAuditEntry, type AuditEntry } from './audit-entry.ts';
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
 *
 * What keeps the stream cheap for the writers (docs/live-stream.md, docs/benchmarks.md): passes spaced
 * by their measured fixed cost under load (adaptive coalescing), groups that can see nothing of the
 * announced batches skipping their read, one read shared by groups that filter by equality, delivery one
 * subscriber at a time so each socket gets one write per pass, push delivery (deliverTo) for the
 * transport's lean path, a budget for delivery while entries are being written (the live view lags and
 * catches up from the table; the writes do not wait), and at most a few feed queries at once.
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
  /**
   * Adaptive coalescing: under load, read passes are spaced so that what each pass costs whatever it
   * carries (its group reads, measured, and one socket write per subscriber that receives something,
   * measured but charged at least socketWriteCostUs) takes at most this share of the time between two
   * passes (default 0.05)...
   */
  coalesceDuty?: number;
  /** ...but at most this far apart (default 100 ms). A wake-up after a quiet spell still reads at once. */
  maxCoalesceMs?: number;
  /**
   * What coalescing charges a socket write at least, in µs (default 40): besides the write this process
   * measures (a few µs since frames go out as one buffer per turn), each one wakes its client and the
   * kernel's receive side, which this process does not see. 0 charges the measured time only.
   */
  socketWriteCostUs?: number;
  /** Delivery time per event-loop turn before subscribers wait for the next turn (default 4 ms). */
  deliverySliceMs?: number;
  /**
   * While this process writes audit entries, the stream's deliveries (building frames and writing them
   * to sockets) take at most this share of the time (default 0.2), each frame counted at least
   * frameCostUs; the live view lags instead, and catches up from the table once the writes ease.
   * 1 turns the budget off.
   */
  deliveryDuty?: number;
  /**
   * What the budget charges a frame at least, in µs (default 6): a frame costs the machine more than
   * the time this process measures for it (the kernel's receive side, the client's decoding when it
   * runs on the same machine), and with the lean path's frame buffers the measured part is below a
   * microsecond. 0 charges the measured time only.
   */
  frameCostUs?: number;
  /**
   * While the event loop is this busy with everything but the stream's deliveries (its utilisation over
   * the last SATURATION_WINDOW_MS, less the deliveries' share; default 0.7) and entries are written, the
   * stream's share drops from deliveryDuty to saturatedDuty and read passes stay maxCoalesceMs apart:
   * the proxy's calls are then what limits the server, and each frame delivered costs one of them. The
   * live view lags until the load eases, then catches up from the table. 1 turns it off.
   */
  saturationThreshold?: number;
  /** ...to this share of the time (default 0.05). */
  saturatedDuty?: number;
  /**
   * ...measured over time: the budget holds at most this much delivery time (default 50 ms, about one
   * entry to a thousand sockets on a small VM), so a lone commit or a pass at a moderate rate never
   * waits, and only a sustained backlog is held to deliveryDuty.
   */
  deliveryBurstMs?: number;
  /**
   * Most of the feed's queries (group reads, catch-up reads, head probes) running at once (default 4):
   * the connection pool also serves the proxy's audit writes.
   */
  maxConcurrentReads?: number;
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
  /** Group passes skipped without a read: the committed batches concern no agent or member the group can see. */
  skippedReads: number;
  /** Reads shared by several groups (see AuditFeed.tick), and the group passes they served. */
  sharedReads: number;
  sharedGroupPasses: number;
  /** Passes served from the rows the committed statements announced, without a read (and the group passes they served). */
  memoryPasses: number;
  memoryGroupPasses: number;
  notifiesSent: number;
  ticks: number;
  /** Time spent writing stream frames to sockets (reported by the transport), in ms since start. */
  socketWriteMs: number;
  /** The current minimum time between two read passes (adaptive coalescing), in ms. */
  coalesceMs: number;
  /** Time spent delivering to push subscribers (FeedSubscription.deliverTo), ms since start. */
  deliveryMs: number;
  /** Times delivery waited because it had used its share of the time while entries were being written. */
  deliveryWaits: number;
  /** Delivery runs held to the budget (entries being written) / run at full speed. */
  budgetedRuns: number;
  /** Windows of SATURATION_WINDOW_MS, ending while entries were written, in which the event loop was saturated by other work (saturatedDuty applied). */
  saturatedWindows: number;
  freeRuns: number;
  /** Entries delivered to push subscribers. */
  pushed: number;
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

/**
 * Most entries one subscriber sends in one turn while others wait: large enough that its frames share a
 * socket write, small enough that a burst advances every subscriber evenly (see AuditFeed.pace).
 */
const TURN_FRAMES = 32;
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

/** After a pause this long without a pass, the measured pass cost is forgotten: the next reads are immediate. */
const QUIET_MS = 500;
/**
 * Most entries one push subscriber sends in one turn while others wait (they share one socket write).
 * Larger than TURN_FRAMES: a frame costs the lean path a fraction of what next() costs.
 */
const PUSH_TURN_FRAMES = 128;
/** Queue insertions (members × entries) a group makes per event-loop turn when it hands out a read. */
const HAND_OUT_SLICE = 16_384;
/**
 * Entries count as being written while the last `audit.committed` is at most this old (ms). Long
 * enough that a stall of the writes (a checkpoint, a lock) does not open delivery to full speed in the
 * middle of a write load, which then floods whatever shares the machine when the writes resume.
 */
const WRITING_MS = 1000;
/** How often the event loop's utilisation is sampled for saturationThreshold, ms. */
const SATURATION_WINDOW_MS = 250;


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
  peek(): T | undefined {
    return this.head < this.items.length ? this.items[this.head] : undefined;
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

/** At most `limit` tasks at once; the others wait their turn in order. */
class Limiter {
  private active = 0;
  private readonly waiting = new Queue<() => void>();
  constructor(private readonly limit: number) {}
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

/** What the `audit.committed` events of one pass say about the seqs they cover. */
interface Announced {
  min: number;
  max: number;
  agents: string[];
  members: string[];
  /** The statement's rows as stored, when the writer sent them and the feed kept them (bounded). */
  rows?: readonly AuditEntryRow[];
}

/** What the announced batches say about a range of seqs: who its entries concern and, when every batch sent them, its rows. */
interface KnownRange {
  agents: Set<string>;
  members: Set<string>;
  /** Every entry with a seq in the range, in seq order. */
  rows?: AuditEntryRow[];
}

/**
 * The agents and members of every entry with a seq in (from, to], when the announced batches cover that
 * whole range (each batch's seqs [min, max] are its own: statements draw them under the audit lock);
 * undefined when any seq in it may come from elsewhere (another instance, a writer that did not say).
 */
function knownRange(batches: Announced[], from: number, to: number): KnownRange | undefined {
  const agents = new Set<string>();
  const members = new Set<string>();
  let rows: AuditEntryRow[] | undefined = [];
  let covered = from;
  for (const b of [...batches].sort((x, y) => x.min - y.min)) {
    if (b.max <= from) continue;
    if (b.min > covered + 1) return undefined;
    covered = Math.max(covered, b.max);
    for (const a of b.agents) agents.add(a);
    for (const m of b.members) members.add(m);
    if (!b.rows) rows = undefined;
    else if (rows) for (const row of b.rows) if (Number(row.seq) > from && Number(row.seq) <= to) rows.push(row);
  }
  if (covered < to) return undefined;
  return { agents, members, rows: rows?.sort((x, y) => Number(x.seq) - Number(y.seq)) };
}

class Group {
  readonly live = new Set<FeedSubscription>();
  readonly members = new Set<FeedSubscription>();
  /** Every matching entry with seq <= position has been handed to the live members. */
  position: number;
  /** The group stopped reading because most members had more than a batch queued (see backedUp). */
  waitingForRoom = false;
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
    this.ownerSet = new Set(visibility.owner.map((a) => a.toLowerCase()));
    this.memberSet = new Set(visibility.members.map((m) => m.toLowerCase()));
  }

  attach(sub: FeedSubscription): void {
    this.live.add(sub);
  }

  /**
   * A group whose filter only compares columns for equality (result, service, member, agentId) can be
   * served from a read shared with other groups: matches() decides exactly what its SQL would. Text
   * filters (tool, agent name), policy and time ranges always read on their own.
   */
  get sharable(): boolean {
    const f = this.filter;
    return !f.tool && !f.agent && !f.policy && !f.from && !f.until;
  }

  /** The same decision as the group's own query (visibility scope and equality filters) for one row. */
  matches(row: AuditEntryRow): boolean {
    const f = this.filter;
    const agentId = String(row.agent_id).toLowerCase();
    const memberId = row.member_id ? String(row.member_id).toLowerCase() : null;
    if (f.result && row.decision !== f.result) return false;
    if (f.service && row.service !== f.service) return false;
    if (f.agentId && agentId !== f.agentId.toLowerCase()) return false;
    if (f.member && memberId !== f.member.toLowerCase()) return false;
    return this.ownerSet.has(agentId) || (memberId !== null && this.memberSet.has(memberId));
  }

  private readonly ownerSet: Set<string>;
  private readonly memberSet: Set<string>;

  /** Hands out the matching rows of a shared read of (position, head], in seq order; the group is then at head. */
  deliverShared(rows: AuditEntryRow[], head: number): Promise<void> {
    const entries: AuditEntry[] = [];
    for (const row of rows) if (this.matches(row)) entries.push(toAuditEntry(row, this.access));
    return this.handOut(entries, head);
  }

  /**
   * Hands entries (in seq order) to every live member, then moves the group to `end`. A thousand
   * members times a batch of 500 is half a million queue insertions: they go in slices of about
   * HAND_OUT_SLICE, with I/O (the proxy's writes) between them. The position follows what has been
   * handed out, so a subscriber that joins between two slices (catchUp, no await between its check
   * and its join) starts exactly there.
   */
  private async handOut(entries: AuditEntry[], end: number): Promise<void> {
    let i = 0;
    while (i < entries.length) {
      const stop = Math.min(entries.length, i + Math.max(1, Math.floor(HAND_OUT_SLICE / Math.max(1, this.live.size))));
      for (; i < stop; i++) {
        const entry = entries[i];
        const seq = seqOf(entry);
        for (const sub of this.live) sub.push(entry, seq);
        this.position = seq;
      }
      if (i < entries.length) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    this.position = Math.max(this.position, end);
  }

  /** False when no entry of these agents and members can match this group's visibility and filter. */
  mayMatch(known: { agents: Set<string>; members: Set<string> }): boolean {
    const { agentId, member } = this.filter;
    if (agentId && !known.agents.has(agentId.toLowerCase())) return false;
    if (member && !known.members.has(member.toLowerCase())) return false;
    return this.visibility.owner.some((a) => known.agents.has(a.toLowerCase())) || this.visibility.members.some((m) => known.members.has(m.toLowerCase()));
  }

  detach(sub: FeedSubscription): void {
    this.live.delete(sub);
    // It may have been what the group was waiting for.
    if (this.waitingForRoom) this.feed.requestTick();
  }

  remove(sub: FeedSubscription): void {
    this.detach(sub);
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

  /**
   * Most live members have more than a batch queued, or any member that does is waiting in the feed's
   * delivery line: delivery, not the reading, is behind (the server is busy, or delivery is over its
   * share of the time while entries are written). The group then reads
   * no further until they have taken it (FeedSubscription.took asks for a pass); it lags the head and
   * reads the table from its position later, so nothing is skipped and each member holds at most about
   * two batches.
   */
  backedUp(): boolean {
    const batch = this.feed.batchSize;
    let behind = 0;
    for (const sub of this.live) {
      if (sub.queued <= batch) continue;
      // In the feed's delivery line (push mode): what it holds waits for the server's delivery (its
      // budget, a busy loop), not for its client. Reading on would only grow its queue until it had to
      // leave the group for something that is not its fault.
      if (sub.scheduled) return true;
      behind++;
    }
    return behind * 2 > this.live.size;
  }

  private async read(head: number): Promise<void> {
    const batch = this.feed.batchSize;
    while (this.position < head && this.live.size > 0 && this.feed.running) {
      this.waitingForRoom = this.backedUp();
      if (this.waitingForRoom) return;
      const entries = await this.feed.readCommitted(this.access, this.filter, this.position, batch, head, 'group');
      await this.handOut(entries, entries.length < batch ? head : seqOf(entries[entries.length - 1]));
      if (entries.length === batch) await this.drain(batch);
    }
  }

  /**
   * Backpressure during a burst: before reading more, wait for the members to take most of what they
   * were given, so the group never buffers more than about two batches. A few stragglers (a slow client)
   * leave the group after a second and catch up on their own, so they hold up no one. When most members
   * are behind, the server itself is the bottleneck: the group stops reading (read() checks backedUp)
   * rather than sending everyone to read and map the same rows on their own, and rather than holding up
   * the pass, and with it the other groups, until they have taken it.
   */
  private async drain(batch: number): Promise<void> {
    const started = Date.now();
    while (this.feed.running && this.live.size > 0) {
      let behind = 0;
      for (const sub of this.live) if (sub.queued > batch) behind++;
      // backedUp: the group stops reading until the server's delivery has caught up (read() checks).
      if (behind === 0 || this.backedUp()) return;
      if (Date.now() - started >= 1000) {
        for (const sub of [...this.live]) if (sub.queued > batch) sub.fallBehind();
        return;
      }
      await sleep(5);
    }
  }
}

/**
 * Where a subscription in push mode (FeedSubscription.deliverTo) sends its entries: the transport's
 * lean path, which writes each entry's frame to its socket itself instead of going through next().
 */
export interface FeedSink {
  /**
   * Sends one entry, synchronously. true: sent. 'wait': sent, but send nothing more until the
   * subscription's resume() is called (the socket's buffer is full). false: not sent; the subscription
   * leaves push mode and the consumer takes this entry, and what follows, with next().
   */
  send(entry: AuditEntry): boolean | 'wait';
  /** The end of this subscriber's turn: what it sent may now go out (frames of one turn share a write). */
  flush(): void;
}

/** One subscriber's stream: an async iterator of entries in seq order, without gaps or repeats. */
export class FeedSubscription implements AsyncIterableIterator<AuditEntry> {
  private readonly queue = new Queue<AuditEntry>();
  /** Push mode: the sink entries go to, and what to call when the stream leaves push mode. */
  private sink: FeedSink | undefined;
  private onDetached: (() => void) | undefined;
  /** The sink asked to wait (resume() ends it). */
  private held = false;
  private reading = false;
  /** @internal in the feed's line of push subscribers with something to send */
  scheduled = false;
  /** Every matching entry with seq <= pos is queued or delivered. */
  private pos: number;
  private mode: 'catchup' | 'live' = 'catchup';
  private waiter: (() => void) | undefined;
  private finished = false;
  /** Ended by the consumer (return): pending and later next() calls never settle. */
  private abandoned = false;
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
    if (this.sink) this.ready();
    else this.wake();
  }

  /**
   * Push mode: from now on the feed hands this subscription's entries to `sink` in its delivery turns
   * (AuditFeed.deliver), without a next() call, a promise or a microtask per entry. `detached` is called
   * once the stream leaves push mode: it ended or failed (next() then says so), or the sink refused an
   * entry (next() returns it). deliverTo may be called again after that.
   */
  deliverTo(sink: FeedSink, detached: () => void): void {
    if (this.finished || this.sink) {
      if (!this.abandoned) detached();
      return;
    }
    this.sink = sink;
    this.onDetached = detached;
    this.feed.release(this);
    this.ready();
  }

  /** Push mode: the sink can take entries again. */
  resume(): void {
    if (!this.held) return;
    this.held = false;
    this.ready();
  }

  /** Push mode: queues it for delivery, or reads on when catching up and nothing is queued. */
  private ready(): void {
    if (!this.sink || this.held || this.finished) return;
    if (this.queue.length > 0) this.feed.schedule(this);
    else if (this.mode === 'catchup') void this.readAhead();
  }

  private async readAhead(): Promise<void> {
    if (this.reading) return;
    this.reading = true;
    try {
      await this.catchUp();
    } catch (err) {
      this.fail(err instanceof Error ? err : new Error(String(err)));
      return;
    } finally {
      this.reading = false;
    }
    this.ready();
  }

  /**
   * @internal Push mode, called by the feed in this subscriber's turn: sends up to `max` queued entries
   * to the sink, then flushes it (one socket write for the turn, timed for the coalescing window).
   */
  deliverTurn(max: number): void {
    const sink = this.sink;
    if (!sink || this.held) return;
    const before = this.queue.length;
    let sent = 0;
    try {
      while (sent < max && this.sink === sink) {
        const entry = this.queue.peek();
        if (entry === undefined) break;
        const r = sink.send(entry);
        if (r === false) {
          this.detach();
          break;
        }
        this.queue.shift();
        sent++;
        if (r === 'wait') {
          this.held = true;
          break;
        }
      }
    } finally {
      const t = performance.now();
      sink.flush();
      if (sent > 0) this.feed.recordSocketWrite(performance.now() - t);
      this.feed.countPushed(sent);
    }
    this.took(before);
  }

  /** @internal after this subscriber's turn: in line again if it has more, reading on if catching up. */
  afterTurn(): void {
    this.ready();
  }

  private detach(): void {
    const detached = this.onDetached;
    this.sink = undefined;
    this.onDetached = undefined;
    this.held = false;
    detached?.();
  }

  /** The group stopped reading until its members have room: crossing below a batch asks for a pass. */
  private took(before: number): void {
    const batch = this.feed.batchSize;
    if (before > batch && this.queue.length <= batch && this.group.waitingForRoom) this.feed.requestTick();
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
        const turn = this.feed.pace(this);
        if (turn) {
          await turn;
          continue;
        }
        const value = this.queue.shift()!;
        this.took(this.queue.length + 1);
        return { value, done: false };
      }
      // Nothing left to send: the next subscriber may deliver.
      this.feed.release(this);
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
    this.feed.release(this);
    this.wake();
    // Push mode ends too: next() reports the end or the failure (left unsettled when abandoned).
    if (this.abandoned) {
      this.sink = undefined;
      this.onDetached = undefined;
    } else this.detach();
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
  /** Batches announced by `audit.committed` since the last pass (bounded: see onCommitted). */
  private announced: Announced[] = [];
  /** Rows held in `announced` (bounded by batchSize). */
  private announcedRows = 0;
  private readonly reads: Limiter;
  private latest: Promise<number> | undefined;
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
  /** Subscribers waiting for their turn to deliver, oldest first, and the one delivering. */
  private readonly waiting = new Queue<{ sub: FeedSubscription; resolve: () => void }>();
  private holder: FeedSubscription | undefined;
  private holderFresh = false;
  private holderSent = 0;
  private turnScheduled = false;
  /** Push subscribers (deliverTo) with something to send, in turn order, and the pending delivery run. */
  private readonly pushReady = new Queue<FeedSubscription>();
  private deliveryScheduled = false;
  private deliveryTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly deliveryDuty: number;
  private readonly saturationThreshold: number;
  private readonly saturatedDuty: number;
  /** The event loop's utilisation and the delivery time at the start of the current saturation window. */
  private eluAt: EventLoopUtilization = perfHooks.eventLoopUtilization();
  private eluDeliveryMs = 0;
  private saturated = false;
  /** The delivery budget while entries are being written: ms of delivery available now, refilled at deliveryDuty. */
  private budgetMs = 0;
  private budgetAt = 0;
  private readonly budgetCapMs: number;
  private lastCommitAt = -Infinity;
  private readonly frameCostMs: number;
  private readonly socketWriteCostMs: number;
  private readonly counters = { groupReads: 0, catchUpReads: 0, skippedReads: 0, sharedReads: 0, sharedGroupPasses: 0, memoryPasses: 0, memoryGroupPasses: 0, notifiesSent: 0, ticks: 0, socketWriteMs: 0, deliveryMs: 0, deliveryWaits: 0, budgetedRuns: 0, saturatedWindows: 0, freeRuns: 0, pushed: 0 };
  private readonly coalesceDuty: number;
  private readonly maxCoalesceMs: number;
  private readonly sliceMs: number;
  /**
   * Time spent since the current pass started on what each pass costs whatever it carries (group reads,
   * one socket write per subscriber that receives something): what coalescing saves, ms.
   */
  private passFixedMs = 0;
  /** Moving average of passFixedMs over recent passes, ms: it sets the coalescing window. */
  private passCostAvg = 0;

  constructor(
    private readonly deps: FeedDeps,
    options: AuditFeedOptions = {},
  ) {
    this.channel = options.channel ?? 'wicket_audit';
    this.catchUpIntervalMs = options.catchUpIntervalMs ?? 1000;
    this.notifyIntervalMs = options.notifyIntervalMs ?? 25;
    this.credentialCheckMs = options.credentialCheckMs ?? 2000;
    this.batchSize = options.batchSize ?? 500;
    this.coalesceDuty = options.coalesceDuty ?? 0.05;
    this.maxCoalesceMs = options.maxCoalesceMs ?? 100;
    this.sliceMs = options.deliverySliceMs ?? SLICE_MS;
    this.deliveryDuty = Math.min(1, Math.max(0.01, options.deliveryDuty ?? 0.2));
    this.saturationThreshold = options.saturationThreshold ?? 0.7;
    this.saturatedDuty = Math.min(this.deliveryDuty, Math.max(0.01, options.saturatedDuty ?? 0.05));
    this.frameCostMs = Math.max(0, options.frameCostUs ?? 6) / 1000;
    this.socketWriteCostMs = Math.max(0, options.socketWriteCostUs ?? 40) / 1000;
    this.budgetCapMs = options.deliveryBurstMs ?? 50;
    this.budgetMs = this.budgetCapMs;
    this.reads = new Limiter(options.maxConcurrentReads ?? 4);
  }

  /** Idempotent; subscribe() starts the feed on first use, so in-process callers need not. */
  start(): Promise<void> {
    if (this.running) return Promise.resolve();
    this.starting ??= (async () => {
      this.running = true;
      this.saturated = false;
      this.startSaturationWindow();
      if (this.saturationThreshold < 1) this.timers.push(setInterval(() => this.judgeSaturation(), SATURATION_WINDOW_MS));
      this.offCommitted = this.deps.events.on('audit.committed', (batch) => this.onCommitted(batch));
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
    if (this.deliveryTimer) clearTimeout(this.deliveryTimer);
    this.deliveryTimer = undefined;
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
    const afterSeq = from ?? (await this.latestSeq());
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
    const wait = this.lastTickAt + this.coalesceMs() - performance.now();
    if (wait > 0) {
      this.tickTimer = setTimeout(() => {
        this.tickTimer = undefined;
        this.tickAgain = false;
        this.requestTick();
      }, wait);
      return;
    }
    const now = performance.now();
    // The cost of the passes so far sets the window; after a quiet spell it starts afresh.
    this.passCostAvg = now - this.lastTickAt > QUIET_MS ? 0 : 0.7 * this.passCostAvg + 0.3 * this.passFixedMs;
    this.passFixedMs = 0;
    this.lastTickAt = now;
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
      coalesceMs: this.coalesceMs(),
    };
  }

  /**
   * Minimum time between two read passes. Each pass has a fixed cost whatever it carries (one query per
   * group; one wake-up, one socket write and one read by the client per subscriber, since frames to one
   * socket in one pass share a write), so under a steady stream of commits fewer, larger passes leave
   * the event loop, the database and the machine to the writers. The window is the average time recent
   * passes spent on group reads and socket writes, divided by coalesceDuty, between tickIntervalMs() and
   * maxCoalesceMs: a few groups and sockets keep it at tickIntervalMs(), a hundred sockets or ten groups
   * under a steady stream of commits take it to maxCoalesceMs. After a quiet spell the average starts
   * afresh and the first wake-up reads at once.
   */
  private coalesceMs(): number {
    const base = tickIntervalMs(this.groups.size);
    // While other work saturates the loop and entries are written, delivery is held to saturatedDuty:
    // passes then carry little and would come ever closer together, so they stay at the longest window.
    if (this.saturated && this.writing(performance.now())) return Math.max(base, this.maxCoalesceMs);
    return Math.max(base, Math.min(this.maxCoalesceMs, this.passCostAvg / this.coalesceDuty));
  }

  /**
   * Reported by the transport (ws.ts): time spent writing stream frames to sockets. Frames to one socket
   * in one delivery turn share a write, so this is the per-pass cost that larger passes save. Each write
   * counts at least socketWriteCostUs toward the coalescing window (what it costs the client and the
   * kernel's receive side); the stats keep the measured time.
   */
  recordSocketWrite(ms: number): void {
    this.passFixedMs += Math.max(ms, this.socketWriteCostMs);
    this.counters.socketWriteMs += ms;
  }

  /**
   * @internal Delivery scheduling: one subscriber at a time, in turn, in slices of the event loop.
   *
   * A subscriber delivers only while it holds the turn: it then sends what it has queued in one go (up
   * to TURN_FRAMES while others wait), so its frames leave in one socket write (ws.ts corks a socket
   * until the next tick) rather than one write per frame, and the next subscriber (oldest waiting first)
   * takes over. Without this, the members of a group woken by one read would all interleave, one frame
   * each, and each socket would get a write per frame.
   *
   * Fair share of the event loop: a socket's write callback comes back on process.nextTick, so delivery
   * could otherwise hold the loop for seconds during a burst, starving the proxy's own audit writes. A
   * slice opens with the first delivery of an event-loop turn; past deliverySliceMs, whoever holds the
   * turn goes to the back of the line and the rest wait for a later loop turn (setImmediate), so I/O (the
   * writers' queries) runs in between. A subscriber given the turn sends at least one entry before it can
   * be asked to wait again. The turn also passes on at the next process.nextTick, so a consumer that
   * stops asking (its socket's buffer is full, or it went away) holds up no one. When the loop is idle
   * nothing waits.
   */
  pace(sub: FeedSubscription): Promise<void> | undefined {
    const now = performance.now();
    if (!this.sliceOpen) this.openSlice(now);
    const inSlice = now - this.sliceStart < this.sliceMs;
    if (this.holder === sub) {
      if (this.holderFresh || (inSlice && (this.holderSent < TURN_FRAMES || this.waiting.length === 0))) {
        this.holderFresh = false;
        this.holderSent++;
        return undefined;
      }
      this.holder = undefined;
    } else if (this.holder === undefined && this.waiting.length === 0 && inSlice) {
      this.grant(sub, false);
      return undefined;
    }
    const turn = new Promise<void>((resolve) => this.waiting.push({ sub, resolve }));
    this.passTurn();
    return turn;
  }

  /** @internal the subscriber has nothing left to send (or is gone): the next one may deliver. */
  release(sub: FeedSubscription): void {
    if (this.holder !== sub) return;
    this.holder = undefined;
    this.passTurn();
  }

  private openSlice(now: number): void {
    this.sliceOpen = true;
    this.sliceStart = now;
    this.scheduleTurn();
  }

  private grant(sub: FeedSubscription, fresh: boolean): void {
    this.holder = sub;
    this.holderFresh = fresh;
    this.holderSent = fresh ? 0 : 1;
    // After the microtasks now queued (the holder's deliveries) have run: a process.nextTick queued
    // from a microtask runs once the microtask queue is empty, whereas one queued right here, from a
    // nextTick callback, would run before them.
    queueMicrotask(() =>
      process.nextTick(() => {
        if (this.holder === sub) {
          this.holder = undefined;
          this.passTurn();
        }
      }),
    );
  }

  /** Gives the turn to the oldest waiting subscriber, if nobody holds it and the slice has time left. */
  private passTurn(): void {
    if (this.holder !== undefined || this.waiting.length === 0) return;
    if (!this.sliceOpen || performance.now() - this.sliceStart >= this.sliceMs) {
      this.scheduleTurn();
      return;
    }
    const next = this.waiting.shift()!;
    this.grant(next.sub, true);
    next.resolve();
  }

  private scheduleTurn(): void {
    if (this.turnScheduled) return;
    this.turnScheduled = true;
    setImmediate(() => {
      this.turnScheduled = false;
      this.sliceOpen = false;
      if (this.waiting.length === 0) return;
      this.openSlice(performance.now());
      this.passTurn();
    });
  }

  /** @internal a push subscriber has something to send: it joins the line, and a delivery run is due. */
  schedule(sub: FeedSubscription): void {
    if (sub.scheduled) return;
    sub.scheduled = true;
    this.pushReady.push(sub);
    this.scheduleDelivery(0);
  }

  /** @internal */
  countPushed(n: number): void {
    this.counters.pushed += n;
  }

  private scheduleDelivery(delayMs: number): void {
    if (this.deliveryScheduled) return;
    this.deliveryScheduled = true;
    if (delayMs > 0) {
      this.deliveryTimer = setTimeout(() => {
        this.deliveryTimer = undefined;
        this.deliver();
      }, delayMs);
    } else setImmediate(() => this.deliver());
  }

  /**
   * Whether the event loop is saturated by other work (saturationThreshold), judged by a timer every
   * SATURATION_WINDOW_MS from the loop's utilisation over the window just ended, less the deliveries'
   * own share. On a server whose proxy has the loop busy, every frame delivered is a call not served; on
   * one that is waiting for I/O (the database, the upstreams), the stream keeps its usual share.
   * A timer rather than a judgement when delivery asks: the first write after a quiet spell then meets
   * the judgement of the last 250 ms, not an average over the whole spell, which would let a burst
   * through at full share until the next window.
   */
  private judgeSaturation(): void {
    const window = perfHooks.eventLoopUtilization(this.eluAt);
    const elapsed = window.idle + window.active;
    if (elapsed <= 0) return;
    const deliveryShare = (this.counters.deliveryMs - this.eluDeliveryMs) / elapsed;
    this.saturated = window.utilization - deliveryShare >= this.saturationThreshold;
    if (this.saturated && this.writing(performance.now())) this.counters.saturatedWindows++;
    this.startSaturationWindow();
  }

  private startSaturationWindow(): void {
    this.eluAt = perfHooks.eventLoopUtilization();
    this.eluDeliveryMs = this.counters.deliveryMs;
  }

  /** Entries are being written: an `audit.committed` in the last WRITING_MS. */
  private writing(now: number): boolean {
    return now - this.lastCommitAt < WRITING_MS;
  }

  /**
   * Delivery to push subscribers (deliverTo: the graphql-ws lean path), one subscriber at a time, each
   * sending what it has queued (up to PUSH_TURN_FRAMES while others wait) so that its frames share one
   * socket write, in runs of at most deliverySliceMs; between runs the loop does its I/O.
   *
   * The budget: while this process writes audit entries (an `audit.committed` in the last WRITING_MS),
   * the runs take at most deliveryDuty of the time. The proxy's audit writes gate live calls; the live
   * view may lag. A token bucket: a run spends what it took, but at least frameCostUs per frame (what a
   * frame costs beyond this process: the kernel's receive side, a client on the same machine), time
   * refills it at deliveryDuty, up to deliveryBurstMs, so a lone commit or passes at a moderate rate
   * never wait and only a backlog is held to its share. The members' queues then fill, their group
   * stops reading (Group.backedUp), and the stream catches up from the table once the writes ease:
   * nothing skipped, memory bounded.
   */
  private deliver(): void {
    if (!this.running) {
      this.deliveryScheduled = false;
      return;
    }
    const started = performance.now();
    const writing = this.writing(started);
    // While entries are written and other work saturates the loop, the smaller share (saturatedDuty).
    const duty = writing && this.saturated ? this.saturatedDuty : this.deliveryDuty;
    let allowance = this.sliceMs;
    if (writing) {
      this.budgetMs = Math.min(this.budgetCapMs, this.budgetMs + (started - this.budgetAt) * duty);
      this.budgetAt = started;
      if (this.budgetMs <= 0) {
        this.deliveryScheduled = false;
        this.counters.deliveryWaits++;
        this.scheduleDelivery(Math.max(1, -this.budgetMs / duty));
        return;
      }
      allowance = Math.min(allowance, this.budgetMs);
      this.counters.budgetedRuns++;
    } else this.counters.freeRuns++;
    // deliveryScheduled stays set during the run: subscribers that get back in line (afterTurn) wait
    // for the run's end, which decides when the next one starts.
    // While entries are written, a run is also charged frameCostUs per frame (see the budget above).
    const frameCost = writing ? this.frameCostMs : 0;
    const pushed0 = this.counters.pushed;
    let now = started;
    while (Math.max(now - started, (this.counters.pushed - pushed0) * frameCost) < allowance) {
      const sub = this.pushReady.shift();
      if (!sub) break;
      sub.scheduled = false;
      try {
        sub.deliverTurn(this.pushReady.length > 0 ? PUSH_TURN_FRAMES : 4 * PUSH_TURN_FRAMES);
        sub.afterTurn();
      } catch (err) {
        // A transport's failure ends that one stream (its consumer sees the error), not the delivery.
        sub.fail(err instanceof Error ? err : new Error(String(err)));
      }
      now = performance.now();
    }
    const spent = now - started;
    this.counters.deliveryMs += spent;
    if (writing) this.budgetMs -= Math.max(spent, (this.counters.pushed - pushed0) * frameCost);
    else {
      this.budgetMs = this.budgetCapMs;
      this.budgetAt = now;
    }
    this.deliveryScheduled = false;
    if (this.pushReady.length > 0) {
      const wait = writing && this.budgetMs <= 0 ? -this.budgetMs / duty : 0;
      if (wait > 0) this.counters.deliveryWaits++;
      this.scheduleDelivery(wait);
    }
  }

  /** @internal used by groups and subscriptions */
  async readCommitted(access: Access, filter: AuditFilter, afterSeq: number, limit: number, throughSeq: number, by: 'group' | 'catchup'): Promise<AuditEntry[]> {
    if (by === 'catchup') {
      this.counters.catchUpReads++;
      return this.reads.run(() => this.deps.audit.listCommittedAfter(access, filter, afterSeq, limit, throughSeq));
    }
    this.counters.groupReads++;
    // A group read is part of a pass's fixed cost (one per group per pass): its time counts toward the
    // coalescing window, like the socket writes.
    return this.reads.run(async () => {
      const started = performance.now();
      try {
        return await this.deps.audit.listCommittedAfter(access, filter, afterSeq, limit, throughSeq);
      } finally {
        this.passFixedMs += performance.now() - started;
      }
    });
  }

  /**
   * The largest committed seq. Callers at the same moment share one query (a thousand clients
   * reconnecting at once cost one), and it takes its turn with the other reads.
   */
  private latestSeq(): Promise<number> {
    this.latest ??= this.reads.run(() => this.deps.audit.latestSeq()).finally(() => {
      this.latest = undefined;
    });
    return this.latest;
  }

  /** @internal */
  dropGroup(group: Group): void {
    if (this.groups.get(group.key) === group) this.groups.delete(group.key);
  }

  /** A fresh head for a new group: its reader starts there (the feed's own may be stale while idle). */
  private async currentHead(): Promise<number> {
    this.head = Math.max(this.head, await this.latestSeq());
    return this.head;
  }

  private async tick(): Promise<void> {
    if (this.groups.size === 0) {
      this.announced = [];
      this.announcedRows = 0;
      return;
    }
    this.counters.ticks++;
    try {
      // Every seq up to the head is final (committed or never will be): see the class comment. The
      // max seq of a batch this process saw commit is such a head too, without asking the database.
      const hint = this.committedHint;
      this.committedHint = 0;
      const previous = this.head;
      const head = hint > this.head ? hint : await this.latestSeq();
      if (head > this.head) this.head = head;
      // Taken after the head: batches announced meanwhile can only account for more of the range.
      const announced = this.announced;
      this.announced = [];
      this.announcedRows = 0;
      // A group that had read everything up to the previous head, and can see none of the agents and
      // members of what committed since (when that is known for every seq in between), moves on
      // without a read. Passes do not overlap, so no reader of this group is in flight here.
      const known = this.head > previous ? knownRange(announced, previous, this.head) : undefined;
      if (known) {
        for (const g of this.groups.values()) {
          if (g.position === previous && g.live.size > 0 && !g.mayMatch(known)) {
            g.position = this.head;
            this.counters.skippedReads++;
          }
        }
      }
      let pending = [...this.groups.values()].filter((g) => g.position < this.head && g.live.size > 0);
      pending = await this.readShared(pending, previous, this.head, known?.rows);
      // A few readers at a time: the connection pool also serves the proxy's writes.
      const worker = async () => {
        for (let g = pending.shift(); g; g = pending.shift()) await g.pump(this.head);
      };
      await Promise.all(Array.from({ length: Math.min(4, pending.length) }, worker));
    } catch (err) {
      if (this.running) this.deps.logger.warn({ err }, 'live audit stream: read failed; retrying on the next wake-up');
    }
  }

  /**
   * One read for several groups. Groups that were at the previous head and filter only by equality
   * (Group.sharable) are served from a single read of (previous, head] over the union of their
   * visibilities, each keeping the rows its own query would return (Group.matches) and mapping them for
   * its viewers. With the audit table indexed by seq, ten groups reading the same range on their own
   * would scan it ten times. When the range holds a full batch or more, the groups read on their own
   * (in batches, with backpressure). Returns the groups still to read.
   */
  private async readShared(pending: Group[], previous: number, head: number, announcedRows?: AuditEntryRow[]): Promise<Group[]> {
    // A group whose members are backed up reads no further for now (Group.read says so).
    const shared = pending.filter((g) => g.position === previous && g.sharable && !g.backedUp());
    // The committed statements sent every row of (previous, head]: no read at all, even for one group.
    // After a turn of the event loop: the event fires in the writer's commit path, whose calls go first.
    const fromMemory = announcedRows !== undefined && announcedRows.length < this.batchSize;
    if (shared.length === 0 || (shared.length < 2 && !fromMemory)) return pending;
    let rows: AuditEntryRow[];
    if (fromMemory) {
      this.counters.memoryPasses++;
      await new Promise<void>((resolve) => setImmediate(resolve));
      rows = announcedRows;
    } else rows = await this.readForGroups(shared, previous, head);
    if (rows.length >= this.batchSize) return pending;
    const served = new Set<Group>();
    for (const [i, g] of shared.entries()) {
      // Nothing else moves a group's position while a pass runs; a group emptied meanwhile is skipped.
      // One group per event-loop turn: mapping a window's worth of rows for every group in one go
      // would hold the loop for milliseconds, and the proxy's writes with it.
      if (i > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      if (g.position !== previous || g.live.size === 0) continue;
      await g.deliverShared(rows, head);
      served.add(g);
      this.counters[fromMemory ? 'memoryGroupPasses' : 'sharedGroupPasses']++;
    }
    return pending.filter((g) => !served.has(g));
  }

  /** One read of (previous, head] over the union of these groups' visibilities, up to a batch. */
  private readForGroups(groups: Group[], previous: number, head: number): Promise<AuditEntryRow[]> {
    const owners = new Set<string>();
    const members = new Set<string>();
    for (const g of groups) {
      for (const a of g.visibility.owner) owners.add(a);
      for (const m of g.visibility.members) members.add(m);
    }
    this.counters.sharedReads++;
    return this.reads.run(async () => {
      const started = performance.now();
      try {
        return await repo.listAuditEntriesAfterSeq(this.deps.database.db, {
          scope: { ownerAgentIds: [...owners], memberIds: [...members] },
          criteria: {},
          afterSeq: previous,
          limit: this.batchSize,
          throughSeq: head,
        });
      } finally {
        this.passFixedMs += performance.now() - started;
      }
    });
  }

  private onCommitted(batch: AuditCommitted): void {
    const { maxSeq, minSeq, agentIds, memberIds } = batch;
    this.lastCommitAt = performance.now();
    if (maxSeq > this.committedHint) this.committedHint = maxSeq;
    // Without all of minSeq, agentIds and memberIds the batch's seqs stay unknown, and every group reads.
    // Its rows are kept up to a batch's worth per pass (a pass over more reads in batches anyway).
    if (minSeq !== undefined && agentIds && memberIds && this.announced.length < 10_000) {
      const rows = batch.rows && this.announcedRows + batch.rows.length <= this.batchSize ? batch.rows : undefined;
      if (rows) this.announcedRows += rows.length;
      this.announced.push({ min: minSeq, max: maxSeq, agents: agentIds.map((a) => a.toLowerCase()), members: memberIds.map((m) => m.toLowerCase()), rows });
    }
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
