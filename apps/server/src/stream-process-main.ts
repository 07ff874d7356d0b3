/**
 * The live stream process's entry (stream-process.ts starts it; never run by hand). It serves graphql-ws
 * on sockets the server hands over: the same schema, plugins, authentication, limits and feed as the
 * server's own stream, on a pool of its own. It ends when told to (every socket closed with 1001 first)
 * or when the server that started it goes away.
 */
import { createServer, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { createCore, createLogger } from '@wicket/core';
import { createDatabase, type Database } from '@wicket/db';
import { attachGraphqlWs, createGraphServer, type GraphqlWsHandle } from '@wicket/graph';
import type { FromStreamProcess, StreamProcessInit, ToStreamProcess } from './stream-process.ts';

const send = (m: FromStreamProcess) => process.send?.(m);

let database: Database | undefined;
let ws: GraphqlWsHandle | undefined;
let stopFeed: (() => Promise<void>) | undefined;
let statsTimer: NodeJS.Timeout | undefined;
let stopping = false;
// Never listens: graphql-ws takes upgrades from it, and they come from the IPC channel.
const server = createServer();

async function start(init: StreamProcessInit): Promise<void> {
  const logger = createLogger({ level: init.logLevel });
  database = await createDatabase({ url: init.databaseUrl, poolSize: init.poolSize });
  const core = createCore({ database, logger, serverSecret: init.serverSecret, feed: init.stream });
  const yoga = createGraphServer({ core, secureCookies: init.secureCookies });
  ws = attachGraphqlWs(server, { core, yoga, allowedOrigins: init.consoleOrigins, ...init.stream });
  await core.feed.start();
  stopFeed = () => core.feed.stop();
  const handle = ws;
  statsTimer = setInterval(() => send({ kind: 'stats', stats: { feed: core.feed.stats(), ws: handle.stats() } }), 200);
  send({ kind: 'stats', stats: { feed: core.feed.stats(), ws: handle.stats() } });
  send({ kind: 'ready' });
}

async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  if (statsTimer) clearInterval(statsTimer);
  await ws?.close().catch(() => {});
  await stopFeed?.().catch(() => {});
  await database?.close().catch(() => {});
  process.exit(0);
}

process.on('message', (message: ToStreamProcess, handle?: unknown) => {
  if (message.kind === 'init') {
    start(message.init).catch((err: unknown) => {
      send({ kind: 'failed', message: err instanceof Error ? err.message : String(err) });
      process.exit(1);
    });
  } else if (message.kind === 'upgrade') {
    const socket = handle as Socket | undefined;
    if (!socket) return; // closed before it arrived
    if (stopping || !ws) return socket.destroy();
    // The request as the server parsed it, on the socket it arrived on (its address is the caller's).
    const request = new IncomingMessage(socket);
    request.method = message.method;
    request.url = message.url;
    request.headers = message.headers;
    server.emit('upgrade', request, socket, Buffer.from(message.head, 'base64'));
  } else if (message.kind === 'stop') void stop();
});
// The server went away without stopping this process: nobody hands it sockets any more.
process.on('disconnect', () => void stop());
