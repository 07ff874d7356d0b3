import type { Kysely } from 'kysely';
import { repo, type AuditEntryInsert, type AuditEntryRow, type DB } from '@wicket/db';
import { UnavailableError } from '../errors.ts';
import { committedStatement, type CoreEventBus } from '../events.ts';
import type { Logger } from '../logger.ts';

/** A row to insert (every column); the id is chosen by the caller so each waiter can find its own row in the batch. */
export type AuditRowToWrite = AuditEntryInsert;

export interface CommittedEntry {
  id: string;
  seq: number;
  timestamp: Date;
}

export interface AuditOutcomeInput {
  durationMs: number;
  upstreamStatus: string | null;
  upstreamError: string | null;
}

export interface AuditWriterOptions {
  /** Most rows in one INSERT. Default 256. */
  maxBatch?: number;
  /** Most outcomes in one UPDATE. Default 1000. */
  maxOutcomeBatch?: number;
  /**
   * Outcomes wait this long for company before their UPDATE goes out (they are off every call's path):
   * at 100 calls/s, one UPDATE of ~10 rows instead of ten of one, a tenth of the database work. Under steady
   * load the UPDATEs are paced the same way: at most one per `outcomeDelayMs` unless `maxOutcomeBatch`
   * outcomes are waiting (at 1,000 calls/s, 10 UPDATEs of ~100 rows a second, not ~300 of ~3). Default 100 ms.
   */
  outcomeDelayMs?: number;
  /**
   * A caller waits at most this long for its row's commit before being told the database is unavailable
   * (and its call is not forwarded). Default 10 s. Should the insert commit later after all, those rows
   * get the outcome "not forwarded".
   */
  commitTimeoutMs?: number;
  /** Observes every committed insert batch (metrics). */
  onBatch?: (info: { rows: number; ms: number }) => void;
  /** Observes every outcome UPDATE (metrics): outcomes sent, and how long the statement took. */
  onOutcomes?: (info: { rows: number; ms: number }) => void;
}

/**
 * The row's guard failed: something its decision rested on (key, member, agent, policies, route) changed
 * after the caller was read, so the row was not written. The caller decides again on fresh data.
 */
export class StaleCallerError extends Error {
  constructor() {
    super('the caller changed since it was read: decide again');
    this.name = 'StaleCallerError';
  }
}

interface Waiter {
  row: AuditRowToWrite;
  resolve: (entry: CommittedEntry) => void;
  reject: (error: Error) => void;
  settled: boolean;
  timer?: NodeJS.Timeout;
}

interface PendingOutcome extends AuditOutcomeInput {
  id: string;
}

/** Class 22 (data exception) and 23 (integrity constraint): the row, not the database, is at fault. */
function isRowError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^2[23]/.test(code);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Group commit for audit entries. Calls that arrive while a flush is running wait in a queue; when the
 * flush finishes, everything queued (up to `maxBatch`) goes out as ONE multi-row INSERT, which is one
 * transaction committed synchronously (no asynchronous commit). Each caller awaits its own row's commit.
 * So at low load an entry is written at once, and under load the number of commits per second stays
 * bounded by the database's round-trip time while throughput grows with the batch.
 *
 * Outcomes (filled once after the upstream answered) are gathered for `outcomeDelayMs` and written as one
 * UPDATE, off the request's path: the caller does not wait for them.
 */
export class AuditWriter {
  private readonly maxBatch: number;
  private readonly maxOutcomeBatch: number;
  private readonly outcomeDelayMs: number;
  private readonly commitTimeoutMs: number;
  private queue: Waiter[] = [];
  private outcomes: PendingOutcome[] = [];
  private inserting: Promise<void> | null = null;
  private updating: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly db: Kysely<DB>,
    private readonly events: CoreEventBus,
    private readonly logger: Logger,
    private readonly options: AuditWriterOptions = {},
  ) {
    this.maxBatch = options.maxBatch ?? 256;
    this.maxOutcomeBatch = options.maxOutcomeBatch ?? 1000;
    this.outcomeDelayMs = options.outcomeDelayMs ?? 100;
    this.commitTimeoutMs = options.commitTimeoutMs ?? 10_000;
  }

  /** Resolves once the row is committed; rejects with UnavailableError when it could not be. */
  write(row: AuditRowToWrite): Promise<CommittedEntry> {
    if (this.closed) return Promise.reject(new UnavailableError('the audit log is closed: the server is shutting down'));
    return new Promise<CommittedEntry>((resolve, reject) => {
      const waiter: Waiter = { row, resolve, reject, settled: false };
      waiter.timer = setTimeout(() => {
        this.settle(waiter, new UnavailableError(`the audit entry was not committed within ${this.commitTimeoutMs} ms`));
      }, this.commitTimeoutMs);
      waiter.timer.unref?.();
      this.queue.push(waiter);
      // setImmediate, not a microtask: requests whose I/O completed in the same event-loop turn join the batch.
      if (!this.inserting) this.inserting = new Promise((done) => setImmediate(() => this.drainInserts().finally(done)));
    });
  }

  /** Queues the outcome of a committed entry; written in the next outcome batch. Never throws. */
  recordOutcome(id: string, outcome: AuditOutcomeInput): void {
    this.outcomes.push({ id, ...outcome });
    if (!this.updating) {
      this.updating = new Promise((done) => {
        const run = () => void this.drainOutcomes().finally(done);
        if (this.outcomeDelayMs > 0 && !this.closed) setTimeout(run, this.outcomeDelayMs);
        else setImmediate(run);
      });
    }
  }

  /** Waits until every queued row and outcome has been written (or failed). */
  async flush(): Promise<void> {
    while (this.inserting || this.updating) {
      await this.inserting;
      await this.updating;
    }
  }

  /** Refuses new rows, then writes what is queued. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  private settle(waiter: Waiter, result: CommittedEntry | Error): void {
    if (waiter.settled) return;
    waiter.settled = true;
    clearTimeout(waiter.timer);
    if (result instanceof Error) waiter.reject(result);
    else waiter.resolve(result);
  }

  private async drainInserts(): Promise<void> {
    try {
      while (this.queue.length) {
        // Rows whose caller already gave up (timeout) are still written: nothing else may be assumed about them.
        const batch = this.queue.splice(0, this.maxBatch);
        await this.insertBatch(batch);
      }
    } finally {
      this.inserting = null;
    }
  }

  private async insertBatch(batch: Waiter[]): Promise<void> {
    const started = performance.now();
    let committed: AuditEntryRow[];
    try {
      committed = await repo.insertAuditEntryBatch(this.db, batch.map((w) => w.row));
    } catch (error) {
      if (batch.length > 1 && isRowError(error)) {
        // One bad row must not fail its neighbours: write them one by one.
        for (const waiter of batch) await this.insertBatch([waiter]);
        return;
      }
      this.logger.error({ err: { message: describe(error), code: (error as { code?: unknown }).code }, rows: batch.length }, 'audit entries could not be written');
      const unavailable = new UnavailableError('the audit log is unavailable: the database did not accept the entry');
      for (const waiter of batch) this.settle(waiter, unavailable);
      return;
    }
    this.options.onBatch?.({ rows: committed.length, ms: performance.now() - started });
    const byId = new Map(committed.map((c) => [c.id, c]));
    let maxSeq = 0;
    for (const waiter of batch) {
      const entry = byId.get(waiter.row.id);
      if (!entry) {
        this.settle(waiter, waiter.row.guard ? new StaleCallerError() : new UnavailableError('the audit entry was not returned by the database'));
        continue;
      }
      const normalised = { id: entry.id, seq: Number(entry.seq), timestamp: new Date(entry.timestamp) };
      maxSeq = Math.max(maxSeq, normalised.seq);
      if (waiter.settled) {
        // Its caller was told 503 and did not forward the call: say so in the entry.
        this.recordOutcome(entry.id, { durationMs: 0, upstreamStatus: null, upstreamError: 'not forwarded: the audit entry committed too late' });
      }
      this.settle(waiter, normalised);
    }
    // The batch's seq range, who it concerns and its rows: live-stream readers that can see none of it
    // skip it, the others are handed its rows without reading them.
    if (maxSeq > 0) this.events.emit('audit.committed', committedStatement(committed));
  }

  private async drainOutcomes(): Promise<void> {
    try {
      let first = true;
      while (this.outcomes.length) {
        // Under steady load the outcomes that came in during an UPDATE wait their own delay too (unless a
        // full batch is ready or the writer is closing): one UPDATE per outcomeDelayMs, not one per round trip.
        if (!first && this.outcomeDelayMs > 0 && !this.closed && this.outcomes.length < this.maxOutcomeBatch) {
          await new Promise((r) => setTimeout(r, this.outcomeDelayMs));
        }
        first = false;
        const batch = this.outcomes.splice(0, this.maxOutcomeBatch);
        try {
          const started = performance.now();
          await repo.recordAuditOutcomes(this.db, batch);
          this.options.onOutcomes?.({ rows: batch.length, ms: performance.now() - started });
        } catch (error) {
          // The entries stay without an outcome; the calls themselves were already answered.
          this.logger.warn({ err: { message: describe(error) }, entries: batch.length }, 'audit outcomes could not be recorded');
        }
      }
    } finally {
      this.updating = null;
    }
  }
}
