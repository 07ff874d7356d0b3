import { z } from 'zod';
import { isValidCidr } from './ip.ts';

export type Effect = 'permit' | 'forbid';
export type ConditionOp = 'eq' | 'neq' | 'contains' | 'startsWith';

export interface TimeWindow {
  /** 0 = Sunday … 6 = Saturday, in the agent's timezone. */
  daysOfWeek?: number[];
  /** 0–23; with `hoursTo`, an inclusive range of whole hours (9..17 = 09:00–17:59). */
  hoursFrom?: number;
  hoursTo?: number;
  /** YYYY-MM-DD, inclusive, in the agent's timezone. */
  activeFrom?: string;
  activeTo?: string;
}

export interface ArgumentCondition {
  key: string;
  op: ConditionOp;
  value: string;
}

/** The structured, versioned content of a policy (spec §2). */
export interface PolicyContent {
  name: string;
  service: string;
  effect: Effect;
  /** [] = every tool of the service. */
  tools: string[];
  principal: { type: 'all_members' } | { type: 'specific_members'; memberIds: string[] };
  timeWindow?: TimeWindow | null;
  /** CIDR list (IPv4 and IPv6); the call must come from one of them. [] or absent = any address. */
  callerIps?: string[];
  /** Conditions on top-level tool arguments, all of which must hold. */
  conditions?: ArgumentCondition[];
  /** ≤ 500 characters, forbid only. */
  denyMessage?: string | null;
}

export interface ValidationIssue {
  /** Path of the offending field, e.g. `timeWindow.hoursFrom` or `conditions[1].key`. */
  field: string;
  message: string;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; issues: ValidationIssue[] };

export const DENY_MESSAGE_MAX = 500;

/**
 * Lower-case service key. No `__` (it separates service and tool on the MCP wire) and no trailing `_`
 * (so `<service>__<tool>` always splits in one place).
 */
export const SERVICE_KEY_PATTERN = /^[a-z][a-z0-9_-]*$/;

export function isValidServiceKey(value: string): boolean {
  return value.length <= 64 && SERVICE_KEY_PATTERN.test(value) && !value.includes('__') && !value.endsWith('_');
}

/** Splits an MCP tool name `<service>__<tool>` at its first `__`. */
export function parseToolName(name: string): { service: string; tool: string } | null {
  const at = name.indexOf('__');
  if (at <= 0) return null;
  const service = name.slice(0, at);
  const tool = name.slice(at + 2);
  if (!tool || !isValidServiceKey(service)) return null;
  return { service, tool };
}

export const POLICY_KEY_PATTERN = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

/** A slug for a policy key derived from its name ("Block prod deletes!" → "block-prod-deletes"). */
export function derivePolicyKey(name: string): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 64)
    .replace(/-+$/, '');
  return slug || 'policy';
}

/** A type error says "is required" when the value is missing, else what was expected. */
function expected(what: string) {
  return { error: (issue: { input?: unknown }) => (issue.input === undefined ? 'is required' : what) };
}

function isCalendarDate(value: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) return false;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

const HOUR = 'must be a whole hour from 0 to 23';
const hour = z.int(expected(HOUR)).min(0, HOUR).max(23, HOUR);
const date = z.string(expected('must be a date YYYY-MM-DD')).refine(isCalendarDate, 'must be a real date written YYYY-MM-DD');

const DAY = 'must be a day number from 0 (Sunday) to 6 (Saturday)';
const timeWindowSchema = z
  .object(
    {
      daysOfWeek: z
        .array(z.int(expected(DAY)).min(0, DAY).max(6, DAY), expected('must be a list of day numbers'))
        .min(1, 'list at least one day, or leave daysOfWeek out for every day')
        .refine((days) => new Set(days).size === days.length, 'lists a day more than once')
        .optional(),
      hoursFrom: hour.optional(),
      hoursTo: hour.optional(),
      activeFrom: date.optional(),
      activeTo: date.optional(),
    },
    expected('must be an object with daysOfWeek, hoursFrom, hoursTo, activeFrom and activeTo (each optional)'),
  )
  .check((ctx) => {
    const { activeFrom, activeTo } = ctx.value;
    if (activeFrom && activeTo && activeFrom > activeTo) {
      ctx.issues.push({ code: 'custom', input: activeTo, path: ['activeTo'], message: 'must be on or after activeFrom' });
    }
  });

const toolName = z
  .string(expected('must be a tool name'))
  .trim()
  .min(1, 'must not be empty')
  .max(128, 'must be at most 128 characters')
  .refine((t) => !/[\s\p{Cc}]/u.test(t), 'must not contain spaces or control characters');

const conditionSchema = z.object(
  {
    key: z.string(expected('must be an argument name')).trim().min(1, 'must name a top-level argument').max(200, 'must be at most 200 characters'),
    op: z.enum(['eq', 'neq', 'contains', 'startsWith'], expected('must be one of eq, neq, contains, startsWith')),
    value: z.string(expected('must be a string')).max(1000, 'must be at most 1000 characters'),
  },
  expected('must be a {key, op, value} condition'),
);

export const policyContentSchema = z
  .object(
    {
      name: z.string(expected('must be a name')).trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters'),
      service: z
        .string(expected('must be a service key'))
        .refine(isValidServiceKey, 'must be a lower-case service key such as "github" (letters, digits, - and _, no "__")'),
      effect: z.enum(['permit', 'forbid'], expected('must be "permit" or "forbid"')),
      tools: z
        .array(toolName, expected('must be a list of tool names'))
        .max(500, 'must list at most 500 tools')
        .refine((tools) => new Set(tools).size === tools.length, 'lists a tool more than once')
        .nullish()
        .transform((tools) => tools ?? []),
      principal: z.discriminatedUnion(
        'type',
        [
          z.object({ type: z.literal('all_members') }),
          z.object({
            type: z.literal('specific_members'),
            memberIds: z
              .array(z.string(expected('must be a member id')).trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters'))
              .min(1, 'list at least one member, or use all_members')
              .refine((ids) => new Set(ids).size === ids.length, 'lists a member more than once'),
          }),
        ],
        expected('must be {"type": "all_members"} or {"type": "specific_members", "memberIds": [...]}'),
      ),
      timeWindow: timeWindowSchema.nullish(),
      callerIps: z
        .array(
          z.string(expected('must be a CIDR range')).trim().refine(isValidCidr, 'must be an IPv4 or IPv6 address or CIDR range, e.g. 10.0.0.0/8 or 2001:db8::/32'),
          expected('must be a list of CIDR ranges'),
        )
        .max(100, 'must list at most 100 ranges')
        .optional(),
      conditions: z.array(conditionSchema, expected('must be a list of {key, op, value} conditions')).max(20, 'must have at most 20 conditions').optional(),
      denyMessage: z.string(expected('must be a string')).trim().max(DENY_MESSAGE_MAX, `must be at most ${DENY_MESSAGE_MAX} characters`).nullish(),
    },
    expected('must be an object'),
  )
  .check((ctx) => {
    const { effect, denyMessage } = ctx.value;
    if (effect === 'permit' && denyMessage) {
      ctx.issues.push({ code: 'custom', input: denyMessage, path: ['denyMessage'], message: 'only a forbid policy can have a deny message' });
    }
  });

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out;
}

/** Validates and normalises policy content; on failure each issue names the field it concerns. */
export function parsePolicyContent(input: unknown): ParseResult<PolicyContent> {
  const result = policyContentSchema.safeParse(input);
  if (result.success) {
    const value = result.data;
    const content: PolicyContent = {
      name: value.name,
      service: value.service,
      effect: value.effect,
      tools: value.tools,
      principal: value.principal,
    };
    if (value.timeWindow && Object.values(value.timeWindow).some((v) => v !== undefined)) content.timeWindow = value.timeWindow;
    if (value.callerIps?.length) content.callerIps = value.callerIps;
    if (value.conditions?.length) content.conditions = value.conditions;
    if (value.denyMessage) content.denyMessage = value.denyMessage;
    return { ok: true, value: content };
  }
  const issues = result.error.issues.map((issue) => ({
    field: formatPath(issue.path) || '(content)',
    message: issue.message,
  }));
  return { ok: false, issues };
}

/** The argument keys a policy's conditions read (what a replayed entry must still have unredacted). */
export function toolArgumentsNeeded(content: Pick<PolicyContent, 'conditions'>): string[] {
  return [...new Set((content.conditions ?? []).map((c) => c.key))];
}
