const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const HAS_OFFSET = /(?:Z|[+-]\d{2}:?\d{2})$/;

/**
 * Milliseconds for an ISO date or date-time as the API reads it (spec §6): no offset means UTC, and a
 * date-only value is the start of that day, or its end when `endOfDay` (an inclusive `to`). NaN if invalid.
 */
export function parseUtcInstant(value: string, { endOfDay = false }: { endOfDay?: boolean } = {}): number {
  const v = value.trim();
  if (DATE_ONLY.test(v)) return Date.parse(`${v}T${endOfDay ? '23:59:59.999' : '00:00:00'}Z`);
  const normalised = v.replace(' ', 'T');
  return Date.parse(HAS_OFFSET.test(normalised) ? normalised : `${normalised}Z`);
}

/** For DateTime inputs: '' → null (use the server's default), invalid → undefined, else ISO 8601 UTC. */
export function toUtcIso(value: string): string | null | undefined {
  if (!value.trim()) return null;
  const ms = parseUtcInstant(value);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}
