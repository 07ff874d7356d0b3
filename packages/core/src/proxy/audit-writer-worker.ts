/**
 * The audit writer's thread (see ThreadAuditWriter): an AuditWriter with a connection pool of its own,
 * driven by messages from the server's thread. Loaded by audit-writer-thread.ts; not imported elsewhere.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createDatabase } from '@wicket/db';
import type { AuditCommitted, CoreEventBus } from '../events.ts';
import type { Logger } from '../logger.ts';
import { AuditWriter, StaleCallerError } from './audit-writer.ts';
import type { ToThread, FromThread, WriterThreadData, WriteResult } from './audit-writer-thread.ts';

const port = parentPort!;
const data = workerData as WriterThreadData;

function post(message: FromThread): void {
  port.postMessage(message);
}

// What the writer uses of the event bus and the logger, sent to the server's thread.
const events = {
  emit(name: string, batch: AuditCommitted) {
    if (name === 'audit.committed') post({ t: 'committed', batch });
  },
} as unknown as CoreEventBus;
const log =
  (level: 'error' | 'warn' | 'info' | 'debug') =>
  (obj: unknown, msg?: string): void =>
    post({ t: 'log', level, obj: typeof obj === 'string' ? {} : obj, msg: typeof obj === 'string' ? obj : (msg ?? '') });
const logger = { error: log('error'), warn: log('warn'), info: log('info'), debug: log('debug') } as unknown as Logger;

const database = await createDatabase({ url: data.url, poolSize: data.poolSize });
const writer = new AuditWriter(database.db, events, logger, {
  ...data.options,
  onBatch: (info) => post({ t: 'batch', ...info }),
  onOutcomes: (info) => post({ t: 'outcomes', ...info }),
});

// Answers settled in one turn go back in one message.
const results: WriteResult[] = [];
function answer(result: WriteResult): void {
  if (results.length === 0) queueMicrotask(() => post({ t: 'done', results: results.splice(0) }));
  results.push(result);
}

port.on('message', (m: ToThread) => {
  switch (m.t) {
    case 'write':
      for (const [token, row] of m.rows) {
        writer.write(row).then(
          (entry) => answer([token, entry]),
          (error: unknown) => answer([token, null, error instanceof StaleCallerError ? 'stale' : 'unavailable', error instanceof Error ? error.message : String(error)]),
        );
      }
      break;
    case 'outcomes':
      for (const { id, ...outcome } of m.outcomes) writer.recordOutcome(id, outcome);
      break;
    case 'flush':
      void writer.flush().then(() => post({ t: 'flushed', token: m.token }));
      break;
    case 'close':
      void (async () => {
        await writer.close();
        await database.close();
        port.close();
      })();
      break;
  }
});
post({ t: 'ready' });
