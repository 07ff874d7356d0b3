import { ValidationError } from '../errors.ts';

/**
 * One cursor for the list and the live stream: the entry's commit position (seq) for the stream, and
 * its (timestamp, id) for the newest-first list. Opaque to clients.
 */
export interface AuditCursor {
  seq: number;
  timestamp: Date;
  id: string;
}

export function encodeAuditCursor(c: AuditCursor): string {
  return Buffer.from(`a1:${c.seq}:${c.timestamp.getTime()}:${c.id}`).toString('base64url');
}

export function decodeAuditCursor(cursor: string, param = 'after'): AuditCursor {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const m = /^a1:(\d+):(\d+):([0-9a-f-]{36})$/.exec(text);
  if (!m) throw new ValidationError(`${param} is not a cursor returned by this API`, param);
  return { seq: Number(m[1]), timestamp: new Date(Number(m[2])), id: m[3] };
}
