import net from 'node:net';

/**
 * A lean HTTP/1.1 client for the proxy benchmark's load generator: raw keep-alive TCP connections, each
 * request written as one prepared buffer, the answer parsed only as far as its status, its length and its
 * body.
 *
 * Why: the load generator shares the benchmark VM's two cores with the proxy, PostgreSQL and the upstream.
 * With `node:http` (a ClientRequest, agent bookkeeping and the HTTP parser per call) it spent 300–500 µs
 * of CPU per call, a quarter of the machine at 1,000 calls/s, taken from the programs being measured.
 * Agents in production do not run on the proxy's machine. Used for the direct and the proxied calls alike,
 * so the overhead (proxy − direct) compares the same client.
 *
 * Answers must carry Content-Length or be chunked; 1xx answers and pipelining are not supported (the
 * benchmark needs neither). A connection that closes mid-answer fails its request.
 */
/** Connections per server at most; past it, requests wait for one to be free. */
const MAX_CONNECTIONS = 2048;

export class LeanHttpClient {
  private readonly idle: Connection[] = [];
  private readonly all = new Set<Connection>();
  private readonly waiting: { request: Buffer; resolve: (a: LeanAnswer) => void; reject: (e: Error) => void }[] = [];

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {}

  static forUrl(url: string): LeanHttpClient {
    const u = new URL(url);
    return new LeanHttpClient(u.hostname, Number(u.port || 80));
  }

  /** The bytes of one POST, to send as many times as wanted. */
  prepare(path: string, headers: Record<string, string>, body: string): Buffer {
    const payload = Buffer.from(body);
    const head = [`POST ${path} HTTP/1.1`, `Host: ${this.host}:${this.port}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), `Content-Length: ${payload.byteLength}`, '', ''].join('\r\n');
    return Buffer.concat([Buffer.from(head), payload]);
  }

  send(request: Buffer): Promise<LeanAnswer> {
    return new Promise((resolve, reject) => {
      const connection = this.idle.pop() ?? (this.all.size < MAX_CONNECTIONS ? this.open() : undefined);
      if (connection) connection.start(request, resolve, reject);
      else this.waiting.push({ request, resolve, reject });
    });
  }

  close(): void {
    for (const c of this.all) c.socket.destroy();
    this.all.clear();
    this.idle.length = 0;
  }

  private open(): Connection {
    const connection = new Connection(net.connect({ host: this.host, port: this.port, noDelay: true }), (c) => this.released(c), (c) => this.lost(c));
    this.all.add(connection);
    return connection;
  }

  private released(connection: Connection): void {
    const next = this.waiting.shift();
    if (next) connection.start(next.request, next.resolve, next.reject);
    else this.idle.push(connection);
  }

  private lost(connection: Connection): void {
    this.all.delete(connection);
    const at = this.idle.indexOf(connection);
    if (at >= 0) this.idle.splice(at, 1);
    const next = this.waiting.shift();
    if (next) this.open().start(next.request, next.resolve, next.reject);
  }
}

export interface LeanAnswer {
  status: number;
  body: Buffer;
}

const HEAD_END = Buffer.from('\r\n\r\n');

class Connection {
  private buffer: Buffer | null = null;
  private resolve: ((a: LeanAnswer) => void) | null = null;
  private reject: ((e: Error) => void) | null = null;

  constructor(
    readonly socket: net.Socket,
    private readonly onReleased: (c: Connection) => void,
    private readonly onLost: (c: Connection) => void,
  ) {
    socket.on('data', (chunk: Buffer) => this.data(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      this.fail(new Error('the connection closed before the answer was complete'));
      this.onLost(this);
    });
  }

  start(request: Buffer, resolve: (a: LeanAnswer) => void, reject: (e: Error) => void): void {
    this.resolve = resolve;
    this.reject = reject;
    this.socket.write(request);
  }

  private fail(error: Error): void {
    const reject = this.reject;
    this.resolve = this.reject = null;
    this.buffer = null;
    reject?.(error);
  }

  private data(chunk: Buffer): void {
    this.buffer = this.buffer ? Buffer.concat([this.buffer, chunk]) : chunk;
    const answer = parseAnswer(this.buffer);
    if (answer === 'incomplete') return;
    if (answer instanceof Error) {
      this.socket.destroy();
      return this.fail(answer);
    }
    const resolve = this.resolve;
    this.resolve = this.reject = null;
    this.buffer = null;
    this.onReleased(this);
    resolve?.(answer);
  }
}

/** A whole answer from the start of `data`, or 'incomplete' while bytes are still missing. */
function parseAnswer(data: Buffer): LeanAnswer | Error | 'incomplete' {
  const headEnd = data.indexOf(HEAD_END);
  if (headEnd < 0) return 'incomplete';
  const lines = data.subarray(0, headEnd).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0])?.[1]);
  if (!Number.isInteger(status)) return new Error(`not an HTTP answer: ${lines[0].slice(0, 80)}`);
  let length: number | null = null;
  let chunked = false;
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'content-length') length = Number(value);
    else if (name === 'transfer-encoding' && /chunked/i.test(value)) chunked = true;
  }
  const start = headEnd + HEAD_END.length;
  if (!chunked) {
    if (length === null) return new Error('an answer without Content-Length or chunked encoding');
    return data.length < start + length ? 'incomplete' : { status, body: data.subarray(start, start + length) };
  }
  const parts: Buffer[] = [];
  let at = start;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at);
    if (lineEnd < 0) return 'incomplete';
    const size = parseInt(data.subarray(at, lineEnd).toString('latin1'), 16);
    if (!Number.isFinite(size)) return new Error('a malformed chunk size');
    if (size === 0) return data.indexOf('\r\n', lineEnd + 2) < 0 ? 'incomplete' : { status, body: Buffer.concat(parts) };
    if (data.length < lineEnd + 2 + size + 2) return 'incomplete';
    parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
}
