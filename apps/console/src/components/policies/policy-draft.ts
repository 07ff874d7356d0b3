import type { FieldErrors } from '@/lib/errors';

export type Effect = 'permit' | 'forbid';
export type ConditionOp = 'eq' | 'neq' | 'contains' | 'startsWith';
export const CONDITION_OPS: readonly { op: ConditionOp; label: string }[] = [
  { op: 'eq', label: 'equals' },
  { op: 'neq', label: 'does not equal' },
  { op: 'contains', label: 'contains' },
  { op: 'startsWith', label: 'starts with' },
];

/** A condition on a top-level tool argument's text value; all of a policy's conditions must hold. */
export interface ConditionDraft {
  key: string;
  op: ConditionOp;
  value: string;
}

/** The structured policy form's state: strings where the admin types, parsed on the way out. */
export interface PolicyDraft {
  name: string;
  key: string;
  service: string;
  effect: Effect;
  tools: string[];
  principalType: 'all_members' | 'specific_members';
  memberIds: string[];
  useTimeWindow: boolean;
  daysOfWeek: number[];
  hoursFrom: string;
  hoursTo: string;
  activeFrom: string;
  activeTo: string;
  conditions: ConditionDraft[];
  callerIps: string;
  denyMessage: string;
  enabled: boolean;
}

/** Policy content as the API returns it, for a policy or one of its versions. */
export interface PolicyContent {
  name: string;
  key?: string;
  service?: string;
  effect: Effect;
  tools: readonly string[];
  principal: { type: string; memberIds: readonly string[] };
  timeWindow?: {
    daysOfWeek?: readonly number[] | null;
    hoursFrom?: number | null;
    hoursTo?: number | null;
    activeFrom?: string | null;
    activeTo?: string | null;
  } | null;
  conditions?: readonly { key: string; op: ConditionOp; value: string }[];
  callerIps: readonly string[];
  denyMessage?: string | null;
  enabled?: boolean;
}

/** Matches the GraphQL `PolicyInput`. */
export interface PolicyInputValue {
  name: string;
  key?: string | null;
  service: string;
  effect: Effect;
  tools?: string[] | null;
  principal?: { type: string; memberIds?: string[] | null } | null;
  timeWindow?: {
    daysOfWeek?: number[] | null;
    hoursFrom?: number | null;
    hoursTo?: number | null;
    activeFrom?: string | null;
    activeTo?: string | null;
  } | null;
  conditions?: { key: string; op: ConditionOp; value: string }[] | null;
  callerIps?: string[] | null;
  denyMessage?: string | null;
  enabled?: boolean | null;
}

export const DENY_MESSAGE_MAX = 500;

/** Form fields that typed errors can name (ValidationError.field), most specific first when matched. */
export const POLICY_FIELDS = [
  'name',
  'key',
  'service',
  'effect',
  'tools',
  'principal',
  'timeWindow',
  'timeWindow.daysOfWeek',
  'timeWindow.hoursFrom',
  'timeWindow.hoursTo',
  'timeWindow.activeFrom',
  'timeWindow.activeTo',
  'conditions',
  'callerIps',
  'denyMessage',
  'enabled',
] as const;

export function emptyDraft(service = ''): PolicyDraft {
  return {
    name: '',
    key: '',
    service,
    effect: 'permit',
    tools: [],
    principalType: 'all_members',
    memberIds: [],
    useTimeWindow: false,
    daysOfWeek: [],
    hoursFrom: '',
    hoursTo: '',
    activeFrom: '',
    activeTo: '',
    conditions: [],
    callerIps: '',
    denyMessage: '',
    enabled: true,
  };
}

export function draftFromContent(content: PolicyContent, fallbackService = ''): PolicyDraft {
  const window = content.timeWindow;
  return {
    name: content.name,
    key: content.key ?? '',
    service: content.service ?? fallbackService,
    effect: content.effect,
    tools: [...content.tools],
    principalType: content.principal.type === 'specific_members' ? 'specific_members' : 'all_members',
    memberIds: [...content.principal.memberIds],
    useTimeWindow: Boolean(
      window && (window.daysOfWeek?.length || window.hoursFrom != null || window.hoursTo != null || window.activeFrom || window.activeTo),
    ),
    daysOfWeek: [...(window?.daysOfWeek ?? [])],
    hoursFrom: window?.hoursFrom != null ? String(window.hoursFrom) : '',
    hoursTo: window?.hoursTo != null ? String(window.hoursTo) : '',
    activeFrom: window?.activeFrom ?? '',
    activeTo: window?.activeTo ?? '',
    conditions: (content.conditions ?? []).map(({ key, op, value }) => ({ key, op, value })),
    callerIps: content.callerIps.join('\n'),
    denyMessage: content.denyMessage ?? '',
    enabled: content.enabled ?? true,
  };
}

const CIDR = /^(?:(?:\d{1,3}\.){3}\d{1,3}(?:\/\d{1,2})?|[0-9a-f:]+(?:\/\d{1,3})?)$/i;

function parseHour(value: string): number | null {
  return value.trim() === '' ? null : Number(value);
}

export function callerIpList(draft: PolicyDraft): string[] {
  return draft.callerIps
    .split(/[\s,]+/)
    .map((ip) => ip.trim())
    .filter(Boolean);
}

/** Catches what the form can know before asking the server; the server remains the judge. */
export function validateDraft(draft: PolicyDraft): FieldErrors {
  const errors: FieldErrors = {};
  if (!draft.name.trim()) errors.name = 'Give the policy a name.';
  if (draft.key && !/^[a-z0-9][a-z0-9-_]*$/.test(draft.key)) errors.key = 'Use lower-case letters, digits, - and _.';
  if (!draft.service) errors.service = 'Pick the service this policy governs.';
  if (draft.principalType === 'specific_members' && draft.memberIds.length === 0) errors.principal = 'Pick at least one member, or choose all members.';
  if (draft.useTimeWindow) {
    for (const key of ['hoursFrom', 'hoursTo'] as const) {
      const hour = parseHour(draft[key]);
      if (hour !== null && (!Number.isInteger(hour) || hour < 0 || hour > 23)) errors[`timeWindow.${key}`] = 'An hour from 0 to 23.';
    }
    if (draft.activeFrom && draft.activeTo && draft.activeFrom > draft.activeTo) errors['timeWindow.activeTo'] = 'The end date is before the start date.';
  }
  if (draft.conditions.some((c) => !c.key.trim())) errors.conditions = 'Every condition needs the argument it checks.';
  const badIp = callerIpList(draft).find((ip) => !CIDR.test(ip));
  if (badIp) errors.callerIps = `“${badIp}” is not an IP address or CIDR range.`;
  if (draft.effect === 'forbid' && draft.denyMessage.length > DENY_MESSAGE_MAX) errors.denyMessage = `At most ${DENY_MESSAGE_MAX} characters.`;
  return errors;
}

export function toPolicyInput(draft: PolicyDraft, { includeKey, includeEnabled }: { includeKey: boolean; includeEnabled: boolean }): PolicyInputValue {
  return {
    name: draft.name.trim(),
    ...(includeKey && draft.key.trim() ? { key: draft.key.trim() } : {}),
    service: draft.service,
    effect: draft.effect,
    tools: draft.tools,
    principal:
      draft.principalType === 'specific_members' ? { type: 'specific_members', memberIds: draft.memberIds } : { type: 'all_members' },
    timeWindow: draft.useTimeWindow
      ? {
          daysOfWeek: draft.daysOfWeek.length ? [...draft.daysOfWeek].sort((a, b) => a - b) : null,
          hoursFrom: parseHour(draft.hoursFrom),
          hoursTo: parseHour(draft.hoursTo),
          activeFrom: draft.activeFrom || null,
          activeTo: draft.activeTo || null,
        }
      : null,
    // Always sent: an absent list would save the policy without its conditions.
    conditions: draft.conditions.map((c) => ({ key: c.key.trim(), op: c.op, value: c.value })),
    callerIps: callerIpList(draft),
    denyMessage: draft.effect === 'forbid' && draft.denyMessage.trim() ? draft.denyMessage.trim() : null,
    ...(includeEnabled ? { enabled: draft.enabled } : {}),
  };
}

/** Canonical JSON of a policy's content, for "unsaved changes" and version diffs. */
export function contentJson(draft: PolicyDraft): string {
  return JSON.stringify(toPolicyInput(draft, { includeKey: false, includeEnabled: false }), null, 2);
}
