import { parseUtcInstant } from './dates';

/** Overview ranges. Relative ranges are kept in the URL by name, so a shared link stays "the last hour". */
export const RANGES = [
  { id: '1h', label: 'Last hour', ms: 3_600_000, bucket: 'minute' },
  { id: '24h', label: 'Last 24 hours', ms: 86_400_000, bucket: 'hour' },
  { id: '7d', label: 'Last 7 days', ms: 7 * 86_400_000, bucket: 'hour' },
  { id: '30d', label: 'Last 30 days', ms: 30 * 86_400_000, bucket: 'day' },
] as const;

export type Bucket = 'minute' | 'hour' | 'day';
export type RangeId = (typeof RANGES)[number]['id'] | 'custom';

export interface ResolvedRange {
  id: RangeId;
  from: string;
  to: string | null;
  bucket: Bucket;
}

const DAY = 86_400_000;

function bucketForSpan(ms: number): Bucket {
  if (ms <= 3 * 3_600_000) return 'minute';
  if (ms <= 8 * DAY) return 'hour';
  return 'day';
}

/**
 * `now` is rounded to the minute by the caller so that re-renders ask for the same window (and hit
 * the cache) until the admin refreshes or a minute passes.
 */
export function resolveRange(id: string | null, customFrom: string | null, customTo: string | null, now: number): ResolvedRange {
  if (id === 'custom' && customFrom) {
    const start = parseUtcInstant(customFrom);
    const end = customTo ? parseUtcInstant(customTo, { endOfDay: true }) : now;
    const span = Number.isNaN(start) || Number.isNaN(end) ? DAY : Math.max(end - start, 60_000);
    return { id: 'custom', from: customFrom, to: customTo || null, bucket: bucketForSpan(span) };
  }
  const range = RANGES.find((r) => r.id === id) ?? RANGES[1];
  return { id: range.id, from: new Date(now - range.ms).toISOString(), to: null, bucket: range.bucket };
}

export function formatBucketLabel(iso: string, bucket: Bucket): string {
  const date = new Date(iso);
  if (bucket === 'day') return date.toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
  if (bucket === 'hour') return date.toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hour12: false });
  return date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', hour12: false });
}
