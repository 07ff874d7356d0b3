import { z } from 'zod';
import type { AuditCriteria } from '@wicket/db';
import { ValidationError } from '../errors.ts';

/** The filter grammar of spec §6, as raw values from a query string or a GraphQL input. */
export interface AuditFilterInput {
  result?: unknown;
  service?: unknown;
  tool?: unknown;
  agent?: unknown;
  member?: unknown;
  policy?: unknown;
  from?: unknown;
  to?: unknown;
  agentId?: unknown;
}

export type AuditFilter = AuditCriteria;

export const auditFilterParams = ['result', 'service', 'tool', 'agent', 'member', 'policy', 'from', 'to', 'agentId'] as const;

const uuid = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'must be a UUID');
const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$/i;

const fields = {
  result: z.string().transform((v, ctx) => {
    const up = v.toUpperCase();
    if (up !== 'ALLOW' && up !== 'DENY') {
      ctx.addIssue({ code: 'custom', message: `must be ALLOW or DENY, got "${v}"` });
      return z.NEVER;
    }
    return up as 'ALLOW' | 'DENY';
  }),
  service: z.string().max(64).regex(/^[a-z][a-z0-9_-]*$/, 'must be a service key such as github (lower-case letters, digits, - and _)'),
  tool: z.string().max(200),
  agent: z.string().max(200),
  member: uuid,
  policy: uuid,
  agentId: uuid,
};

function isRealDate(y: number, m: number, d: number): boolean {
  const dt = new Date(Date.UTC(y, m - 1, d));
  return dt.getUTCFullYear() === y && dt.getUTCMonth() === m - 1 && dt.getUTCDate() === d;
}

/**
 * ISO date or date-time; no offset means UTC. Returns the instant, and for a date-only value used as an
 * upper bound, the start of the following day (the bound is then exclusive and covers the whole day).
 */
export function parseInstant(raw: string, param: string, bound: 'from' | 'to'): { at: Date; exclusiveUntil: Date } {
  const value = raw.trim();
  let m = DATE_ONLY.exec(value);
  if (m) {
    const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
    if (!isRealDate(y, mo, d)) throw new ValidationError(`${param} is not a real date: "${raw}"`, param);
    const start = new Date(Date.UTC(y, mo - 1, d));
    const nextDay = new Date(start.getTime() + 86_400_000);
    return { at: start, exclusiveUntil: bound === 'to' ? nextDay : new Date(start.getTime() + 1) };
  }
  m = DATE_TIME.exec(value);
  if (m) {
    const [y, mo, d, h, mi, s] = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0)];
    if (!isRealDate(y, mo, d) || h > 23 || mi > 59 || s > 59) throw new ValidationError(`${param} is not a real date-time: "${raw}"`, param);
    const iso = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6] ?? '00'}${m[7] ?? ''}${m[8] ? (m[8].toUpperCase() === 'Z' ? 'Z' : m[8].length === 5 ? `${m[8].slice(0, 3)}:${m[8].slice(3)}` : m[8]) : 'Z'}`;
    const at = new Date(iso);
    if (Number.isNaN(at.getTime())) throw new ValidationError(`${param} is not a valid ISO date-time: "${raw}"`, param);
    // Stored timestamps have millisecond precision: an inclusive bound of t covers everything before t+1ms.
    return { at, exclusiveUntil: new Date(at.getTime() + 1) };
  }
  throw new ValidationError(`${param} must be an ISO date (2026-05-01) or date-time (2026-05-01T12:00:00Z), got "${raw}"`, param);
}

function asString(value: unknown, param: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value)) throw new ValidationError(`${param} was given more than once`, param);
  if (value instanceof Date) return value.toISOString();
  if (typeof value !== 'string') throw new ValidationError(`${param} must be a string`, param);
  return value === '' ? undefined : value;
}

/** Validates and normalises a filter; every problem is a ValidationError naming its parameter. */
export function parseAuditFilter(input: AuditFilterInput | null | undefined): AuditFilter {
  const out: AuditFilter = {};
  if (!input) return out;
  for (const key of ['result', 'service', 'tool', 'agent', 'member', 'policy', 'agentId'] as const) {
    const raw = asString(input[key], key);
    if (raw === undefined) continue;
    const parsed = fields[key].safeParse(raw);
    if (!parsed.success) throw new ValidationError(`${key}: ${parsed.error.issues[0]?.message ?? 'invalid value'}`, key);
    (out as any)[key] = parsed.data;
  }
  const from = asString(input.from, 'from');
  const to = asString(input.to, 'to');
  if (from !== undefined) out.from = parseInstant(from, 'from', 'from').at;
  if (to !== undefined) out.until = parseInstant(to, 'to', 'to').exclusiveUntil;
  if (out.from && out.until && out.from.getTime() >= out.until.getTime()) {
    throw new ValidationError('from must not be after to', 'from');
  }
  return out;
}

/** True when an entry satisfies the filter (the live stream checks events with it). */
export function matchesAuditFilter(
  f: AuditFilter,
  e: { decision: string; service: string; tool: string; agentName: string; agentId: string; memberId: string | null; timestamp: Date; matchedPolicyUuids: string[] },
): boolean {
  if (f.result && e.decision !== f.result) return false;
  if (f.service && e.service !== f.service) return false;
  if (f.tool && !e.tool.toLowerCase().includes(f.tool.toLowerCase())) return false;
  if (f.agent && !e.agentName.toLowerCase().includes(f.agent.toLowerCase())) return false;
  if (f.member && e.memberId !== f.member) return false;
  if (f.agentId && e.agentId !== f.agentId) return false;
  if (f.policy && !e.matchedPolicyUuids.includes(f.policy)) return false;
  if (f.from && e.timestamp < f.from) return false;
  if (f.until && e.timestamp >= f.until) return false;
  return true;
}
