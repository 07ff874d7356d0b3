import { parsePolicyContent, type ArgumentCondition, type PolicyContent, type TimeWindow } from './content.ts';

/**
 * The Cedar model every policy compiles to (documented in ../README.md):
 *   principal  <Namespace>::Member::"<member id>"
 *   action     <Namespace>::Action::"<tool>"
 *   resource   <Namespace>::Service::"<service>"
 *   context    { args: {<key>: String}, localDay: 0-6, localHour: 0-23, localDate: YYYYMMDD, callerIp: String }
 * Local time (all three) and the caller IP are left out when unknown, and only what the policies of the
 * evaluated set read is passed (each context attribute costs Cedar several µs to take in). Every
 * condition is guarded with `has` so that an unknown value makes a forbid apply and a permit not apply,
 * instead of an evaluation error (which Cedar answers by skipping the policy: a forbid failing open).
 */

const RESERVED = new Set(['true', 'false', 'if', 'then', 'else', 'in', 'is', 'like', 'has', '__cedar']);
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

export class PolicyCompileError extends Error {
  constructor(
    message: string,
    readonly issues: { field: string; message: string }[] = [],
  ) {
    super(message);
    this.name = 'PolicyCompileError';
  }
}

export function isValidNamespace(namespace: string): boolean {
  return namespace.length <= 200 && namespace.split('::').every((part) => IDENT.test(part) && !RESERVED.has(part));
}

/**
 * A Cedar string literal. Besides `\` and `"`, control characters and bidirectional-override characters
 * are escaped so the admin preview shows exactly what is evaluated.
 */
export function cedarString(value: string): string {
  return `"${escapeCedar(value, false)}"`;
}

/** A `like` pattern matching `prefix` + `value` + `suffix` where only the given wildcards are wild. */
function cedarLikePattern(value: string, leadingWildcard: boolean): string {
  return `"${leadingWildcard ? '*' : ''}${escapeCedar(value, true)}*"`;
}

function escapeCedar(value: string, inPattern: boolean): string {
  let out = '';
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    if (ch === '\\') out += '\\\\';
    else if (ch === '"') out += '\\"';
    else if (inPattern && ch === '*') out += '\\*';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || (code >= 0x7f && code <= 0x9f) || (code >= 0x202a && code <= 0x202e) || (code >= 0x2066 && code <= 0x2069) || code === 0x2028 || code === 0x2029) {
      out += `\\u{${code.toString(16)}}`;
    } else out += ch;
  }
  return out;
}

export function memberUid(namespace: string, memberId: string): string {
  return `${namespace}::Member::${cedarString(memberId)}`;
}

export function actionUid(namespace: string, tool: string): string {
  return `${namespace}::Action::${cedarString(tool)}`;
}

export function serviceUid(namespace: string, service: string): string {
  return `${namespace}::Service::${cedarString(service)}`;
}

function list(items: string[]): string {
  return `[${items.join(', ')}]`;
}

/**
 * Dates are compared as YYYYMMDD numbers: a Cedar `datetime` in the context costs about 15 µs more per
 * decision to convert, and a day is all a time window needs.
 */
export function dateNumber(isoDate: string): number {
  return Number(isoDate.replaceAll('-', ''));
}

function timeWindowExpr(window: TimeWindow): { expr: string; uses: string[] } | null {
  const parts: string[] = [];
  const uses = new Set<string>();
  if (window.daysOfWeek?.length) {
    parts.push(`${list([...window.daysOfWeek].sort((a, b) => a - b).map(String))}.contains(context.localDay)`);
    uses.add('localDay');
  }
  const { hoursFrom: from, hoursTo: to } = window;
  if (from !== undefined || to !== undefined) uses.add('localHour');
  if (from !== undefined && to !== undefined) {
    if (from <= to) parts.push(`context.localHour >= ${from} && context.localHour <= ${to}`);
    // A window such as 22..6 runs overnight.
    else parts.push(`(context.localHour >= ${from} || context.localHour <= ${to})`);
  } else if (from !== undefined) parts.push(`context.localHour >= ${from}`);
  else if (to !== undefined) parts.push(`context.localHour <= ${to}`);
  if (window.activeFrom) parts.push(`context.localDate >= ${dateNumber(window.activeFrom)}`);
  if (window.activeTo) parts.push(`context.localDate <= ${dateNumber(window.activeTo)}`);
  if (window.activeFrom || window.activeTo) uses.add('localDate');
  return parts.length ? { expr: parts.join(' &&\n   '), uses: [...uses] } : null;
}

function conditionExpr(condition: ArgumentCondition): string {
  const arg = `context.args[${cedarString(condition.key)}]`;
  switch (condition.op) {
    case 'eq':
      return `${arg} == ${cedarString(condition.value)}`;
    case 'neq':
      return `${arg} != ${cedarString(condition.value)}`;
    case 'contains':
      return `${arg} like ${cedarLikePattern(condition.value, true)}`;
    case 'startsWith':
      return `${arg} like ${cedarLikePattern(condition.value, false)}`;
  }
}

/** A condition on a value the request does not have: a forbid applies (fail closed), a permit does not. */
function guarded(effect: PolicyContent['effect'], known: string, expr: string, separator = '\n  '): string {
  return effect === 'forbid' ? `!(${known}) ||${separator}(${expr})` : `${known} &&${separator}(${expr})`;
}

/**
 * Readable Cedar text for one policy: the admin preview, and what the engine evaluates (with the effect
 * written `permit` there, to learn every match in one call; see matchingText).
 * Throws PolicyCompileError when the content or the namespace is not valid.
 */
export function compilePolicyToCedar(input: { id: string; key: string; content: PolicyContent; namespace: string }): string {
  if (!isValidNamespace(input.namespace)) {
    throw new PolicyCompileError(`"${input.namespace}" is not a valid Cedar namespace`, [{ field: 'namespace', message: 'must be a Cedar namespace such as GitHubMCP' }]);
  }
  const parsed = parsePolicyContent(input.content);
  if (!parsed.ok) {
    throw new PolicyCompileError(`policy ${input.key} has invalid content: ${parsed.issues.map((i) => `${i.field} ${i.message}`).join('; ')}`, parsed.issues);
  }
  const content = parsed.value;
  const ns = input.namespace;
  const lines: string[] = [];
  lines.push(`@id(${cedarString(input.id)})`, `@key(${cedarString(input.key)})`, `@name(${cedarString(content.name)})`);
  if (content.effect === 'forbid' && content.denyMessage) lines.push(`@denyMessage(${cedarString(content.denyMessage)})`);

  const members = content.principal.type === 'specific_members' ? content.principal.memberIds : [];
  const principalScope = members.length === 1 ? `principal == ${memberUid(ns, members[0])}` : 'principal';
  const tools = content.tools;
  const actionScope =
    tools.length === 0 ? 'action' : tools.length === 1 ? `action == ${actionUid(ns, tools[0])}` : `action in ${list(tools.map((t) => actionUid(ns, t)))}`;
  lines.push(`${content.effect} (`, `  ${principalScope},`, `  ${actionScope},`, `  resource == ${serviceUid(ns, content.service)}`, ')');

  const clauses: string[] = [];
  if (members.length > 1) clauses.push(`when { principal in ${list(members.map((m) => memberUid(ns, m)))} }`);

  const unknownNote = content.effect === 'forbid' ? 'counts as matching this forbid' : 'never matches this permit';
  const window = content.timeWindow ? timeWindowExpr(content.timeWindow) : null;
  if (window) {
    clauses.push(`// Time window in the agent's timezone (dates as YYYYMMDD); an unknown local time ${unknownNote}.`);
    const known = window.uses.map((attr) => `context has ${attr}`).join(' && ');
    clauses.push(`when {\n  ${guarded(content.effect, known, window.expr)}\n}`);
  }
  if (content.callerIps?.length) {
    const ranges = content.callerIps.map((cidr) => `ip(context.callerIp).isInRange(ip(${cedarString(cidr)}))`).join(' ||\n   ');
    clauses.push(`// Caller IP; an unknown caller IP ${unknownNote}.`);
    clauses.push(`when {\n  ${guarded(content.effect, 'context has callerIp', ranges)}\n}`);
  }
  if (content.conditions?.length) {
    clauses.push(`// Argument conditions; a missing or non-text argument ${unknownNote}.`);
    for (const condition of content.conditions) {
      clauses.push(`when { ${guarded(content.effect, `context.args has ${cedarString(condition.key)}`, conditionExpr(condition), ' ')} }`);
    }
  }
  return `${[...lines, ...clauses].join('\n')};\n`;
}
