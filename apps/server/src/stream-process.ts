import { fork, type ChildProcess } from 'node:child_process';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { AuditFeedOptions, AuditFeedStats, Logger } from '@wicket/core';
import type { GraphqlWsOptions, GraphqlWsStats } from '@wicket/graph';

/**
 * The live stream in a process of its own (AppConfig.streamProcess, PostgreSQL only).
 *
 * Why: the proxy's calls and the stream's deliveries otherwise share one event loop. Under load every
 * millisecond the stream spends building frames and writing them to sockets is a millisecond the proxy
 * does not spend deciding and auditing calls (docs/live-stream.md, "The stream process"). Here the server
 * accepts the WebSocket upgrade request on its own port and path as before, then hands the socket itself
 * (the file descriptor, over the IPC channel) to a child process, which runs graphql-ws with the same
 * schema, plugins, authentication and limits, and its own feed: it learns of commits by LISTEN/NOTIFY
 * and reads the rows from the table, as a second server instance would. SSE subscriptions stay in the
 * server process (they are ordinary HTTP responses).
 */
export interface StreamProcessConfig {
  /** The PostgreSQL connection string the child opens its own pool on. */
  databaseUrl: string;
  /** Connections in the child's pool (default 4: group reads, catch-up reads, credential checks). */
  poolSize?: number;
  /** The child's log level (default: warn). */
  logLevel?: string;
}

/** What the server sends the child once: everything it needs to serve the stream as this server would. */
export interface StreamProcessInit {
  databaseUrl: string;
  poolSize: number;
  logLevel: string;
  serverSecret: string;
  consoleOrigins: string[];
  secureCookies?: boolean;
  stream?: AuditFeedOptions & Pick<GraphqlWsOptions, 'maxSubscriptionsPerSocket' | 'maxSocketsPerAccount' | 'keepAliveMs' | 'leanDelivery'>;
}

export type ToStreamProcess =
  | { kind: 'init'; init: StreamProcessInit }
  | { kind: 'upgrade'; method: string; url: string; headers: IncomingMessage['headers']; head: string }
  | { kind: 'stop' };

export type FromStreamProcess =
  | { kind: 'ready' }
  | { kind: 'stats'; stats: { feed: AuditFeedStats; ws: GraphqlWsStats | null } }
  | { kind: 'failed'; message: string };

export interface StreamProcessHandle {
  /** Hands an upgrade request's socket to the child (the server no longer owns it afterwards). */
  upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** The child's counters, as it last reported them (every 200 ms); null before the first report. */
  stats(): { feed: AuditFeedStats; ws: GraphqlWsStats | null } | null;
  /** The child's process id (tests). */
  pid(): number | undefined;
  /** Closes every socket with 1001 in the child, then ends it. */
  close(): Promise<void>;
}

const ENTRY = fileURLToPath(new URL('./stream-process-main.ts', import.meta.url));
// The child runs TypeScript through tsx's loader, as `npm start` runs the server.
const TSX = import.meta.resolve('tsx');

/**
 * Starts the child and waits until it serves. A child that exits unexpectedly is started again after a
 * second (its sockets were closed by its exit; graphql-ws clients reconnect and resume with `after`).
 */
export async function startStreamProcess(init: StreamProcessInit, logger: Logger): Promise<StreamProcessHandle> {
  let child: ChildProcess | undefined;
  let latest: { feed: AuditFeedStats; ws: GraphqlWsStats | null } | null = null;
  let closing = false;
  let restartTimer: NodeJS.Timeout | undefined;

  const spawnChild = () =>
    new Promise<ChildProcess>((resolve, reject) => {
      const c = fork(ENTRY, [], { execArgv: ['--import', TSX], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      let ready = false;
      c.on('message', (m: FromStreamProcess) => {
        if (m.kind === 'ready') {
          ready = true;
          resolve(c);
        } else if (m.kind === 'stats') latest = m.stats;
        else if (m.kind === 'failed') logger.error({ message: m.message }, 'live stream process: failed to start');
      });
      c.once('exit', (code, signal) => {
        if (child === c) child = undefined;
        if (!ready) return reject(new Error(`the live stream process exited before it was ready (code ${code}, signal ${signal})`));
        if (closing) return;
        logger.error({ code, signal }, 'live stream process exited; starting it again (WebSocket clients reconnect)');
        latest = null;
        restartTimer = setTimeout(() => {
          restartTimer = undefined;
          spawnChild().then(
            (next) => {
              if (closing) next.kill();
              else child = next;
            },
            (err) => logger.error({ err }, 'live stream process could not be started again; WebSocket upgrades are refused until it is'),
          );
        }, 1000);
      });
      c.send({ kind: 'init', init } satisfies ToStreamProcess);
    });

  child = await spawnChild();

  return {
    upgrade(request, socket, head) {
      const c = child;
      if (!c || closing || !c.connected) {
        socket.destroy();
        return;
      }
      const message: ToStreamProcess = { kind: 'upgrade', method: request.method ?? 'GET', url: request.url ?? '/', headers: request.headers, head: head.toString('base64') };
      // The descriptor goes to the child; the server's copy is closed once it is sent.
      c.send(message, socket as Socket, (err) => {
        if (err) socket.destroy();
      });
    },
    stats: () => latest,
    pid: () => child?.pid,
    async close() {
      closing = true;
      if (restartTimer) clearTimeout(restartTimer);
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
      if (c.connected) c.send({ kind: 'stop' } satisfies ToStreamProcess);
      const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
