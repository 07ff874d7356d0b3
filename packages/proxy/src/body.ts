import type { Readable } from 'node:stream';

/**
 * A Node body (a request the proxy received, or an upstream's answer) as UTF-8 text; null once it passes
 * `max` bytes. Past the limit the rest is drained (`'drain'`: the connection stays usable, for an
 * answer that is still wanted) or the stream destroyed (`'destroy'`: nothing more is read).
 */
export function readBodyText(body: Readable, max: number, overflow: 'drain' | 'destroy'): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size <= max) {
        chunks.push(chunk);
        return;
      }
      body.off('data', onData);
      if (overflow === 'drain') body.resume();
      else body.destroy();
      resolve(null);
    };
    body.on('data', onData);
    body.once('end', () => resolve(size > max ? null : chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8')));
    body.once('error', reject);
  });
}
