import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { HttpForwarder } from '@wicket/proxy';

/**
 * The least a proxy that obeys issue 3's rule can do, for the benchmark's floor (BENCH_ONLY=floor): what
 * any "commit a record, then forward" proxy pays on this machine, with none of Wicket's work.
 *
 *   - `hop`: receive the JSON-RPC call on node:http, forward it with the proxy's own forwarder
 *     (HttpForwarder, keep-alive), answer. No key, no decision, no database: the extra HTTP hop alone.
 *   - `commit`: the same, plus a durable one-row INSERT into a table with nothing but a bigserial primary
 *     key, committed (synchronous_commit on, the server's default) before the call is forwarded. Each call
 *     commits on its own pooled connection, with no ordering lock, so concurrent commits share PostgreSQL's
 *     WAL flushes: the cheapest durable write per call there is.
 *
 * Neither checks anything; both answer what the upstream answered. Not a product path.
 */
export async function startFloorProxy(options: {
  mode: 'hop' | 'commit';
  databaseUrl: string;
  upstreamUrl: string;
  upstreamAuthorization: string;
}): Promise<{ url: string; close(): Promise<void> }> {
  // The same pool size as the benchmark gives the Wicket server; its connections are kept through quiet
  // spells, as the Wicket server keeps its hot path's (packages/db/src/database.ts).
  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 10, min: 10 });
  if (options.mode === 'commit') await pool.query('create table if not exists bench_floor_calls (id bigserial primary key, tool text not null)');
  const forwarder = new HttpForwarder();
  const target = { url: options.upstreamUrl, authorization: options.upstreamAuthorization };
  const insert = { name: 'bench_floor_insert', text: 'insert into bench_floor_calls (tool) values ($1)' };

  const send = (res: ServerResponse, status: number, body: string) => {
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  const handle = async (res: ServerResponse, text: string) => {
    const message = JSON.parse(text) as { id: unknown; params: { name: string; arguments: Record<string, unknown> } };
    const tool = message.params.name.replace(/^[a-z]+__/, '');
    if (options.mode === 'commit') await pool.query({ ...insert, values: [tool] });
    const answer = await forwarder.callTool(target, { name: tool, arguments: message.params.arguments }, 30_000);
    if (answer.kind !== 'result') return send(res, 502, JSON.stringify({ jsonrpc: '2.0', id: message.id, error: { code: -32603, message: answer.kind } }));
    send(res, 200, `{"jsonrpc":"2.0","id":${JSON.stringify(message.id)},"result":${JSON.stringify(answer.result)}}`);
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      handle(res, Buffer.concat(chunks).toString()).catch((error: unknown) => send(res, 500, JSON.stringify({ error: String(error) })));
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await forwarder.close();
      await pool.end();
    },
  };
}
