import { parseUtcInstant } from './dates';

/**
 * The audit filter of spec §6, as kept in the URL. The same names are used by the REST export, so a
 * console URL's query string (minus paging) is also a valid export query.
 */
export const AUDIT_FILTER_KEYS = ['result', 'service', 'tool', 'agent', 'member', 'policy', 'from', 'to', 'agentId'] as const;
export type AuditFilterKey = (typeof AUDIT_FILTER_KEYS)[number];
export type AuditFilterParams = Partial<Record<AuditFilterKey, string>>;
export type AuditFilterErrors = Partial<Record<AuditFilterKey, string>>;

/** Matches the GraphQL `AuditFilter` input. */
export interface AuditFilterInput {
  result?: 'ALLOW' | 'DENY' | null;
  service?: string | null;
  tool?: string | null;
  agent?: string | null;
  member?: string | null;
  policy?: string | null;
  from?: string | null;
  to?: string | null;
  agentId?: string | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

export function readAuditFilter(params: URLSearchParams | Record<string, string | string[] | undefined>): AuditFilterParams {
  const get = (key: string): string | undefined => {
    if (params instanceof URLSearchParams) return params.get(key) ?? undefined;
    const value = params[key];
    return Array.isArray(value) ? value[0] : value;
  };
  const filter: AuditFilterParams = {};
  for (const key of AUDIT_FILTER_KEYS) {
    const value = get(key)?.trim();
    if (value) filter[key] = value;
  }
  return filter;
}

/** Client-side check, so a bad value is named next to its field before the server says the same. */
export function validateAuditFilter(filter: AuditFilterParams): AuditFilterErrors {
  const errors: AuditFilterErrors = {};
  if (filter.result && filter.result !== 'ALLOW' && filter.result !== 'DENY') errors.result = 'Result must be ALLOW or DENY.';
  for (const key of ['member', 'policy', 'agentId'] as const) {
    const value = filter[key];
    if (value && !UUID.test(value)) errors[key] = `${key === 'agentId' ? 'Agent' : key === 'member' ? 'Member' : 'Policy'} must be an id (UUID); click a ${key === 'policy' ? 'matched policy' : key === 'member' ? 'member' : 'agent'} in the list to fill it.`;
  }
  for (const key of ['from', 'to'] as const) {
    const value = filter[key];
    if (value && (!ISO_DATE.test(value) || Number.isNaN(parseUtcInstant(value, { endOfDay: key === 'to' })))) {
      errors[key] = 'Use an ISO date (2026-05-01) or date-time (2026-05-01T14:30, UTC unless an offset is given).';
    }
  }
  if (filter.from && filter.to && !errors.from && !errors.to && parseUtcInstant(filter.from) > parseUtcInstant(filter.to, { endOfDay: true })) {
    errors.to = '“To” is before “From”.';
  }
  return errors;
}

export function toFilterInput(filter: AuditFilterParams): AuditFilterInput {
  const input: AuditFilterInput = {};
  for (const key of AUDIT_FILTER_KEYS) {
    const value = filter[key];
    if (!value) continue;
    if (key === 'result') input.result = value as 'ALLOW' | 'DENY';
    else input[key] = value;
  }
  return input;
}

export function filterToQueryString(filter: AuditFilterParams): string {
  const params = new URLSearchParams();
  for (const key of AUDIT_FILTER_KEYS) {
    const value = filter[key];
    if (value) params.set(key, value);
  }
  return params.toString();
}

export function auditHref(filter: AuditFilterParams, base = '/audit'): string {
  const query = filterToQueryString(filter);
  return query ? `${base}?${query}` : base;
}
