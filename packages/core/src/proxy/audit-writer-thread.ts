import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Database } from '@wicket/db';
import { UnavailableError } from '../errors.ts';
import type { AuditCommitted, CoreEventBus } from '../events.ts';
import type { Logger } from '../logger.ts';
import { AuditWriter, StaleCallerError, type AuditEntryWriter, type AuditOutcomeInput, type AuditRowToWrite, type AuditWriterOptions, type CommittedEntry } from './audit-writer.ts';

/** @internal what the thread is started with */
export interface WriterThreadData {
  url: string;
  poolSize: number;
  options: Pick<AuditWriterOptions, 'maxBatch' | 'maxOutcomeBatch' | 'outcomeDelayMs' | 'commitTimeoutMs'>;
}

/** @internal one row's answer: committed, or why not */
export type WriteResult = [token: number, entry: CommittedEntry] | [token: number, entry: null, kind: 'stale' | 'unavailable', message: string];

/** @internal messages to the thread */
export type ToThread =
  | { t: 'write'; rows: [token: number, row: AuditRowToWrite][] }
  | { t: 'outcomes'; outcomes: (AuditOutcomeInput & { id: string })[] }
  | { t: 'flush'; token: number }
  | { t: 'close' };

/** @internal messages from the thread */
export type FromThread =
  | { t: 'ready' }
  | { t: 'done'; results: WriteResult[] }
  | { t: 'committed'; batch: AuditCommitted }
  | { t: 'batch'; rows: number; ms: number }
  | { t: 'outcomes'; rows: number; ms: number }
  | { t: 'flushed'; token: number }
  | { t: 'log'; level: 'error' | 'warn' | 'info' | 'debug'; obj: unknown; msg: string };

export interface ThreadAuditWriterStats {
  /** Threads started (a thread that stopped unexpectedly is replaced on the next write). */
  started: number;
  /** Threads that stopped without being asked to. */
  crashed: number;
  /** The thread could not be started: rows are written on this thread instead (AuditWriter). */
  inProcess: boolean;
}

/**
 * The proxy's group-commit writer (AuditWriter) on a thread of its own, with a connection pool of its
 * own (PostgreSQL). Every call's entry must be committed before the call is forwarded, so the writer's
 * turn-around is on every call's path: on the server's thread its next INSERT waits until the event
 * loop is free of whatever else runs there (HTTP parsing, GraphQL, the live stream's reads and
 * deliveries). On its own thread the INSERT goes out, and its answer is read, at once; the server's
 * thread only posts rows and receives their answers, one message per event-loop turn each way.
 *
 * Semantics are AuditWriter's: each write() resolves once its row is committed, or rejects with
 * UnavailableError (StaleCallerError: decide again); `audit.committed` is emitted on the server's bus
 * for each committed statement, with its rows. Should the thread stop unexpectedly, the rows it had not
 * answered are refused (UnavailableError: their calls are not forwarded) and the next write starts a new
 * thread. Should it fail to start at all, the writer falls back to an AuditWriter on this thread.
 * It closes with the database (Database.onClose).
 */
export class ThreadAuditWriter implements AuditEntryWriter {
  private worker: Worker | undefined;
  private ready = false;
  private nextToken = 1;
  /** Rows not answered yet, by token; `posted`: handed to the current thread. */
  private readonly waiting = new Map<number, { row: AuditRowToWrite; posted: boolean; resolve: (entry: CommittedEntry) => void; reject: (error: Error) => void }>();
  private readonly flushes = new Map<number, () => void>();
  /** Tokens of rows to post at the end of this turn. */
  private unposted: number[] = [];
  private outcomes: (AuditOutcomeInput & { id: string })[] = [];
  private outcomesPosted = false;
  private closed = false;
  private closing: Promise<void> | undefined;
  private fallback: AuditWriter | undefined;
  readonly stats: ThreadAuditWriterStats = { started: 0, crashed: 0, inProcess: false };

  constructor(
    private readonly database: Database,
    private readonly events: CoreEventBus,
    private readonly logger: Logger,
    private readonly options: AuditWriterOptions = {},
  ) {
    if (!database.connection) throw new Error('ThreadAuditWriter needs a PostgreSQL database (connection URL)');
    database.onClose(() => this.close());
  }

  /** Starts the thread now rather than on the first write (the server does it when it starts listening). */
  start(): void {
    if (!this.closed && !this.fallback) this.spawn();
  }

  write(row: AuditRowToWrite): Promise<CommittedEntry> {
    if (this.closed) return Promise.reject(new UnavailableError('the audit log is closed: the server is shutting down'));
    if (!this.fallback) this.spawn();
    // spawn() falls back to this thread when a thread cannot be created.
    const fallback = this.fallback as AuditWriter | undefined;
    if (fallback) return fallback.write(row);
    const token = this.nextToken++;
    return new Promise<CommittedEntry>((resolve, reject) => {
      this.waiting.set(token, { row, posted: false, resolve, reject });
      // Rows of one event-loop turn go in one message (a microtask: no added wait for a lone call).
      if (this.unposted.length === 0) queueMicrotask(() => this.postRows());
      this.unposted.push(token);
    });
  }

  recordOutcome(id: string, outcome: AuditOutcomeInput): void {
    if (this.fallback) return this.fallback.recordOutcome(id, outcome);
    this.outcomes.push({ id, ...outcome });
    if (this.outcomesPosted) return;
    this.outcomesPosted = true;
    // Off every call's path: the outcomes of one turn go in one message.
    setImmediate(() => {
      this.outcomesPosted = false;
      const outcomes = this.outcomes.splice(0);
      if (outcomes.length === 0) return;
      if (this.fallback) for (const { id: entryId, ...o } of outcomes) this.fallback.recordOutcome(entryId, o);
      else if (this.worker) this.worker.postMessage({ t: 'outcomes', outcomes } satisfies ToThread);
    });
  }

  async flush(): Promise<void> {
    if (this.fallback) return this.fallback.flush();
    const worker = this.worker;
    if (!worker) return;
    this.postRows();
    const token = this.nextToken++;
    await new Promise<void>((resolve) => {
      this.flushes.set(token, resolve);
      worker.postMessage({ t: 'flush', token } satisfies ToThread);
    });
  }

  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    this.closed = true;
    if (this.fallback) return this.fallback.close();
    const worker = this.worker;
    if (!worker) return;
    this.postRows();
    // Outcomes still waiting for their turn go now.
    const outcomes = this.outcomes.splice(0);
    if (outcomes.length) worker.postMessage({ t: 'outcomes', outcomes } satisfies ToThread);
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage({ t: 'close' } satisfies ToThread);
    // The thread writes what it holds, closes its pool and ends; past the commit timeout and a margin, it is stopped.
    const limit = setTimeout(() => void worker.terminate(), (this.options.commitTimeoutMs ?? 10_000) + 5_000);
    await exited;
    clearTimeout(limit);
  }

  private postRows(): void {
    if (this.unposted.length === 0 || !this.worker) return;
    const rows: [number, AuditRowToWrite][] = [];
    for (const token of this.unposted.splice(0)) {
      const w = this.waiting.get(token);
      if (!w) continue;
      w.posted = true;
      rows.push([token, w.row]);
    }
    this.worker.postMessage({ t: 'write', rows } satisfies ToThread);
  }

  private spawn(): void {
    if (this.worker) return;
    const data: WriterThreadData = {
      url: this.database.connection!.url,
      // One INSERT and one outcome UPDATE at a time (see AuditWriter).
      poolSize: 2,
      options: {
        maxBatch: this.options.maxBatch,
        maxOutcomeBatch: this.options.maxOutcomeBatch,
        outcomeDelayMs: this.options.outcomeDelayMs,
        commitTimeoutMs: this.options.commitTimeoutMs,
      },
    };
    let worker: Worker;
    try {
      worker = new Worker(bootstrap(), { eval: true, workerData: data, name: 'wicket-audit-writer' });
    } catch (error) {
      this.fallBack(error);
      return;
    }
    this.worker = worker;
    this.ready = false;
    this.stats.started++;
    // The thread must not keep the process alive on its own (the server's handles do that).
    worker.unref();
    worker.on('message', (m: FromThread) => this.onMessage(m));
    worker.on('error', (error) => {
      this.logger.error({ err: { message: error.message } }, 'audit writer thread failed');
    });
    worker.on('exit', () => this.onExit(worker));
  }

  private onMessage(m: FromThread): void {
    switch (m.t) {
      case 'ready':
        this.ready = true;
        break;
      case 'done':
        for (const [token, entry, kind, message] of m.results) {
          const w = this.waiting.get(token);
          if (!w) continue;
          this.waiting.delete(token);
          if (entry) w.resolve(entry);
          else w.reject(kind === 'stale' ? new StaleCallerError() : new UnavailableError(message));
        }
        break;
      case 'committed':
        this.events.emit('audit.committed', m.batch);
        break;
      case 'batch':
        this.options.onBatch?.({ rows: m.rows, ms: m.ms });
        break;
      case 'outcomes':
        this.options.onOutcomes?.({ rows: m.rows, ms: m.ms });
        break;
      case 'flushed':
        this.flushes.get(m.token)?.();
        this.flushes.delete(m.token);
        break;
      case 'log':
        this.logger[m.level](m.obj as object, m.msg);
        break;
    }
  }

  private onExit(worker: Worker): void {
    if (this.worker !== worker) return;
    const wasReady = this.ready;
    this.worker = undefined;
    this.ready = false;
    for (const done of this.flushes.values()) done();
    this.flushes.clear();
    if (this.closed) {
      this.refuseWaiting('the audit log is closed: the server is shutting down');
      return;
    }
    if (!wasReady) {
      // It never came up (its code could not be loaded): write on this thread from now on.
      this.fallBack(new Error('the audit writer thread stopped before it was ready'));
      return;
    }
    this.stats.crashed++;
    this.logger.error({}, 'audit writer thread stopped unexpectedly: the calls it had not answered are refused; a new thread starts with the next call');
    // The rows the stopped thread held may or may not have committed: their calls are not forwarded.
    // Rows not yet posted go to the next thread.
    for (const [token, w] of [...this.waiting]) {
      if (!w.posted) continue;
      this.waiting.delete(token);
      w.reject(new UnavailableError('the audit writer stopped before confirming the entry'));
    }
    if (this.waiting.size > 0) {
      this.spawn();
      this.postRows();
    }
  }

  private fallBack(error: unknown): void {
    this.logger.warn({ err: { message: error instanceof Error ? error.message : String(error) } }, 'audit writer thread unavailable: writing audit entries on the server thread');
    this.stats.inProcess = true;
    const fallback = new AuditWriter(this.database.db, this.events, this.logger, this.options);
    this.fallback = fallback;
    // Nothing handed to a thread that never came up was written: every waiting row goes to the in-process writer.
    this.unposted = [];
    for (const w of this.waiting.values()) fallback.write(w.row).then(w.resolve, w.reject);
    this.waiting.clear();
    for (const { id, ...o } of this.outcomes.splice(0)) fallback.recordOutcome(id, o);
  }

  private refuseWaiting(message: string): void {
    for (const w of this.waiting.values()) w.reject(new UnavailableError(message));
    this.waiting.clear();
  }
}

/**
 * The thread's code is TypeScript, like the server's: the thread registers tsx's loader (the server
 * itself runs under tsx, which registers it on the main thread only), then loads its module.
 */
function bootstrap(): string {
  // The ESM build of tsx's API (its CommonJS build cannot register the ESM loader when imported).
  const tsx = pathToFileURL(join(dirname(createRequire(import.meta.url).resolve('tsx/esm/api')), 'index.mjs')).href;
  const entry = new URL('./audit-writer-worker.ts', import.meta.url).href;
  return `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })`;
}
