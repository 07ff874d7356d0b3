import type { Kysely } from 'kysely';
import { repo, type DB, type StatsGranularity } from '@wicket/db';
import type { Access } from '../access.ts';
import { NotFoundError, ValidationError } from '../errors.ts';
import { decodeAuditCursor } from './cursor.ts';
import { parseAuditFilter, type AuditFilter, type AuditFilterInput } from './filter.ts';
import { toAuditEntry, type AuditEntry } from './audit-entry.ts';

export const MAX_PAGE = 500;
/** Most ids in one `getMany`. */
export const MAX_IDS = 100;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface AuditPage {
  entries: AuditEntry[];
  hasNextPage: boolean;
  endCursor: string | null;
  startCursor: string | null;
}

export interface AuditStats {
  total: number;
  allowed: number;
  denied: number;
  allowRatio: number;
  denyRatio: number;
  bucket: StatsGranularity;
  from: Date;
  to: Date;
  series: { start: Date; allowed: number; denied: number }[];
  services: {
    service: string;
    total: number;
    allowed: number;
    denied: number;
    topTools: { tool: string; total: number; denied: number }[];
    topDenyingPolicies: { policyId: string; key: string; name: string; count: number }[];
  }[];
}

function checkLimit(value: number | undefined | null, param: string, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  if (!Number.isInteger(value) || value < 1 || value > MAX_PAGE) throw new ValidationError(`${param} must be an integer from 1 to ${MAX_PAGE}`, param);
  return value;
}

export class AuditService {
  constructor(private readonly db: Kysely<DB>) {}

  parseFilter(input: AuditFilterInput | null | undefined): AuditFilter {
    return parseAuditFilter(input);
  }

  /** Keyset page, newest first (GraphQL, console). Never OFFSET. */
  async list(access: Access, input: AuditFilterInput | null | undefined, page: { first?: number | null; after?: string | null }): Promise<AuditPage> {
    const filter = parseAuditFilter(input);
    const first = checkLimit(page.first, 'first', 50);
    const after = page.after ? decodeAuditCursor(page.after) : undefined;
    const rows = await repo.listAuditEntries(this.db, {
      scope: access.auditScope,
      criteria: filter,
      after: after ? { timestamp: after.timestamp, id: after.id } : undefined,
      limit: first + 1,
    });
    const entries = rows.slice(0, first).map((r) => toAuditEntry(r, access));
    return {
      entries,
      hasNextPage: rows.length > first,
      startCursor: entries[0]?.cursor ?? null,
      endCursor: entries[entries.length - 1]?.cursor ?? null,
    };
  }

  /** Offset page (REST compatibility: `limit` 1–500, `offset` ≥ 0). */
  async listByOffset(
    access: Access,
    input: AuditFilterInput | null | undefined,
    page: { limit?: number | null; offset?: number | null },
  ): Promise<{ entries: AuditEntry[]; limit: number; offset: number; nextOffset: number | null }> {
    const filter = parseAuditFilter(input);
    const limit = checkLimit(page.limit, 'limit', MAX_PAGE);
    const offset = page.offset ?? 0;
    if (!Number.isInteger(offset) || offset < 0) throw new ValidationError('offset must be a non-negative integer', 'offset');
    const rows = await repo.listAuditEntries(this.db, { scope: access.auditScope, criteria: filter, limit: limit + 1, offset });
    const entries = rows.slice(0, limit).map((r) => toAuditEntry(r, access));
    return { entries, limit, offset, nextOffset: rows.length > limit ? offset + limit : null };
  }

  async get(access: Access, id: string): Promise<AuditEntry> {
    if (!UUID.test(id)) throw new ValidationError('id must be a UUID', 'id');
    const row = await repo.findAuditEntryById(this.db, id, access.auditScope);
    if (!row) throw new NotFoundError('audit entry', id);
    return toAuditEntry(row, access);
  }

  /**
   * The entries with these ids the viewer may see, in the order asked (ids not found or not visible
   * are left out). At most MAX_IDS ids. For refreshing rows already shown, e.g. live rows whose outcome
   * (duration, upstream status) was recorded after they were streamed.
   */
  async getMany(access: Access, ids: readonly string[]): Promise<AuditEntry[]> {
    if (ids.length > MAX_IDS) throw new ValidationError(`ids: at most ${MAX_IDS} ids at once`, 'ids');
    ids.forEach((id, i) => {
      if (!UUID.test(id)) throw new ValidationError(`ids[${i}] must be a UUID`, `ids[${i}]`);
    });
    const rows = await repo.listAuditEntriesByIds(this.db, [...new Set(ids)], access.auditScope);
    const byId = new Map(rows.map((r) => [r.id, r]));
    return [...new Set(ids)].flatMap((id) => {
      const row = byId.get(id);
      return row ? [toAuditEntry(row, access)] : [];
    });
  }

  /**
   * Entries committed after a stream position, oldest first, for the live stream; `throughSeq` bounds
   * the read to a head already known to be final (see docs/live-stream.md).
   */
  async listCommittedAfter(access: Access, filter: AuditFilter, afterSeq: number, limit: number, throughSeq?: number): Promise<AuditEntry[]> {
    const rows = await repo.listAuditEntriesAfterSeq(this.db, { scope: access.auditScope, criteria: filter, afterSeq, limit, throughSeq });
    return rows.map((r) => toAuditEntry(r, access));
  }

  async latestSeq(): Promise<number> {
    return repo.findLatestAuditSeq(this.db);
  }

  /**
   * Totals, ratio, a bucketed series and a per-service breakdown, exact for the range. Without `from`
   * the window is the last 24 hours; without `to` it ends now.
   */
  async stats(access: Access, input: AuditFilterInput | null | undefined, bucket?: StatsGranularity | null): Promise<AuditStats> {
    const filter = parseAuditFilter(input);
    const until = filter.until ?? new Date(Date.now() + 1);
    const from = filter.from ?? new Date(until.getTime() - 86_400_000);
    const span = until.getTime() - from.getTime();
    const granularity: StatsGranularity = bucket ?? (span <= 3 * 3_600_000 ? 'minute' : span <= 4 * 86_400_000 ? 'hour' : 'day');
    const unitMs = granularity === 'minute' ? 60_000 : granularity === 'hour' ? 3_600_000 : 86_400_000;
    if (span / unitMs > 50_000) throw new ValidationError(`a ${granularity} series over this range has too many buckets; choose a larger bucket`, 'bucket');

    const rows = await repo.aggregateAuditEntries(this.db, { scope: access.auditScope, criteria: { ...filter, from, until }, granularity });

    let allowed = 0;
    let denied = 0;
    const series = new Map<number, { allowed: number; denied: number }>();
    const services = new Map<string, { total: number; allowed: number; denied: number; tools: Map<string, { total: number; denied: number }>; policies: Map<string, number> }>();
    for (const r of rows) {
      const isDeny = r.decision === 'DENY';
      if (isDeny) denied += r.count;
      else allowed += r.count;
      const t = r.bucket.getTime();
      const point = series.get(t) ?? { allowed: 0, denied: 0 };
      if (isDeny) point.denied += r.count;
      else point.allowed += r.count;
      series.set(t, point);
      let s = services.get(r.service);
      if (!s) services.set(r.service, (s = { total: 0, allowed: 0, denied: 0, tools: new Map(), policies: new Map() }));
      s.total += r.count;
      if (isDeny) s.denied += r.count;
      else s.allowed += r.count;
      const tool = s.tools.get(r.tool) ?? { total: 0, denied: 0 };
      tool.total += r.count;
      if (isDeny) tool.denied += r.count;
      s.tools.set(r.tool, tool);
      if (isDeny && r.policy_id) s.policies.set(r.policy_id, (s.policies.get(r.policy_id) ?? 0) + r.count);
    }

    const policyIds = new Set<string>();
    for (const s of services.values()) for (const id of s.policies.keys()) policyIds.add(id);
    const policyRows = await repo.findPoliciesByIds(this.db, [...policyIds]);
    const policies = new Map(policyRows.filter((p) => !access.hidesPoliciesOf(p.agent_id)).map((p) => [p.id, p]));

    // Every bucket of the range, zeros included, so a chart needs no gap filling.
    const filled: AuditStats['series'] = [];
    const firstBucket = Math.floor(from.getTime() / unitMs) * unitMs;
    for (let t = firstBucket; t < until.getTime(); t += unitMs) {
      const p = series.get(t);
      filled.push({ start: new Date(t), allowed: p?.allowed ?? 0, denied: p?.denied ?? 0 });
    }
    const total = allowed + denied;
    return {
      total,
      allowed,
      denied,
      allowRatio: total ? allowed / total : 0,
      denyRatio: total ? denied / total : 0,
      bucket: granularity,
      from,
      to: until,
      series: filled,
      services: [...services.entries()]
        .sort((a, b) => b[1].total - a[1].total || a[0].localeCompare(b[0]))
        .map(([service, s]) => ({
          service,
          total: s.total,
          allowed: s.allowed,
          denied: s.denied,
          topTools: [...s.tools.entries()]
            .sort((a, b) => b[1].total - a[1].total || a[0].localeCompare(b[0]))
            .slice(0, 5)
            .map(([tool, v]) => ({ tool, ...v })),
          topDenyingPolicies: [...s.policies.entries()]
            .filter(([id]) => policies.has(id))
            .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
            .slice(0, 5)
            .map(([id, count]) => ({ policyId: id, key: policies.get(id)!.key, name: policies.get(id)!.name, count })),
        })),
    };
  }
}
