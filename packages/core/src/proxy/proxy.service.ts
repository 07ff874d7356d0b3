import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { repo, type DB } from '@wicket/db';
import { couldEverAllow, normalizeCallerIp, parseToolName, type DecisionRule, type MatchedPolicy } from '@wicket/policy';
import { precheckCall, type CallDecision, type DecisionService, type PrecheckRule } from '../decision.service.ts';
import { UnavailableError } from '../errors.ts';
import type { CoreEventBus } from '../events.ts';
import type { Logger } from '../logger.ts';
import { redactArguments } from '../redaction.ts';
import type { Secrets } from '../secrets.ts';
import { AuditWriter, StaleCallerError, type AuditOutcomeInput, type AuditRowToWrite, type AuditWriterOptions } from './audit-writer.ts';
import { RateLimiter, type RateLimitOptions } from './rate-limiter.ts';

/**
 * The member behind a key, with the agent's state. Read from the database, except for a `tools/call` of
 * a known tool, where it may come from the proxy's caller cache: then `call.guard` makes the audit INSERT
 * check, in the same statement, that nothing the decision rests on changed since it was read.
 */
export interface Caller {
  /** The agent's policy revision, read with the key: the decision cache is current when it matches. */
  policyRevision: string;
  /**
   * For a request authenticated for one `tools/call` (`authenticate(authorization, toolName)`): that
   * tool name and its route, read in the same query as the key. `route: null`: no connector has the
   * service; `undefined` route: the name has no `service__` prefix.
   */
  call?: { name: string; route: repo.CallRouteRow | null | undefined; guard?: NonNullable<AuditRowToWrite['guard']> };
  keyRowId: string;
  keyId: string;
  memberId: string;
  memberName: string;
  memberStatus: string;
  agentId: string;
  agentName: string;
  agentStatus: string;
  trustMode: 'trusted' | 'untrusted';
  timezone: string;
}

export interface CallContext {
  /** `Mcp-Session-Id` of the request, if any. */
  sessionId: string | null;
  callerIp: string | null;
  /** performance.now() when the request arrived: durations are measured from here. */
  receivedAt: number;
}

export interface ListedTool {
  /** `<service>__<tool>` */
  name: string;
  service: string;
  tool: string;
  description: string;
  tier: 'read' | 'write' | 'destructive';
  inputSchema: Record<string, unknown>;
}

export interface UpstreamTarget {
  service: string;
  tool: string;
  url: string | null;
  /** The connector's credentials as an Authorization header value, or null. */
  authorization: string | null;
}

/** What the call path decided about one `tools/call`, after writing its audit entry where the spec wants one. */
export type ToolCallVerdict =
  /** agent disabled or member not approved: 403, DENY entry written */
  | { kind: 'refused'; rule: PrecheckRule; reason: string; entryId: string; decidedAt: number }
  /** no `service__` prefix: 400 -32602, no entry */
  | { kind: 'invalid_name'; message: string }
  /** no such connector: 200 -32601, no entry */
  | { kind: 'unknown_service'; message: string }
  /** the connector's catalog has no such tool: 200 -32602, no entry */
  | { kind: 'unknown_tool'; message: string }
  /** the key stopped being valid while the call was decided (revoked, rotated): 401, no entry */
  | { kind: 'unauthenticated' }
  /** service not enabled on the agent, or the policies deny: 200 -32600, DENY entry written */
  | { kind: 'denied'; rule: DecisionRule | PrecheckRule; reason: string; entryId: string; decidedAt: number }
  /** ALLOW entry committed: forward now */
  | { kind: 'allowed'; reason: string; entryId: string; upstream: UpstreamTarget; decidedAt: number };

export interface ProxyServiceOptions {
  /** The time policies are evaluated at and entries are stamped with. Tests pass a fixed clock. */
  clock?: () => Date;
  /** Token bucket per member key; `false` turns limiting off (benchmarks). */
  rateLimit?: RateLimitOptions | false;
  audit?: AuditWriterOptions;
  /**
   * Most (key, tool name) pairs whose caller and route are kept in memory, so that a `tools/call` needs
   * no database read before its decision; the audit INSERT re-checks them (see Caller). Default 10,000;
   * `false` reads them for every call.
   */
  callerCache?: number | false;
}

export interface ProxyServiceDeps {
  db: Kysely<DB>;
  secrets: Secrets;
  events: CoreEventBus;
  logger: Logger;
  /** core.decisions: the same engine and cache simulate uses. */
  decisions: Pick<DecisionService, 'loadAgentPolicies' | 'decide'>;
}

/** Stored arguments beyond this size are replaced by a note (the upstream still gets them all). */
export const MAX_STORED_ARGUMENTS_BYTES = 64 * 1024;
const MAX_BEARER_LENGTH = 512;
const MAX_SESSION_ID_LENGTH = 200;
const MAX_NAME_LENGTH = 256;

// PostgreSQL text and jsonb refuse NUL and unpaired UTF-16 surrogates; one such character from an agent
// must not cost the call (or, in a group commit, its neighbours) the audit entry.
// eslint-disable-next-line no-control-regex -- NUL is exactly what must be found
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export function storableText(value: string, max = Infinity): string {
  const cut = value.length > max ? value.slice(0, max) : value;
  return cut.replace(UNSTORABLE, '\uFFFD');
}

/** A copy of plain JSON data with every key and string storable. */
function storableValue(value: unknown): unknown {
  if (typeof value === 'string') return storableText(value);
  if (Array.isArray(value)) return value.map(storableValue);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      // defineProperty: a key named "__proto__" stays data.
      Object.defineProperty(out, storableText(k), { value: storableValue(v), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return value;
}

/** The arguments as they are stored: redacted (catalog sensitive keys, secret-looking keys and values), bounded. */
export function argumentsForAudit(args: Record<string, unknown>, sensitiveKeys: readonly string[]): string {
  const json = JSON.stringify(storableValue(redactArguments(args, { sensitiveKeys })) ?? {});
  if (Buffer.byteLength(json) <= MAX_STORED_ARGUMENTS_BYTES) return json;
  return JSON.stringify({ '[TRUNCATED]': `${Buffer.byteLength(json)} bytes of redacted arguments were not stored` });
}

/** `Bearer <token>`, `Basic …` or any other scheme is sent as is; a bare token becomes `Bearer <token>`. */
export function upstreamAuthorization(credentials: string | null): string | null {
  if (!credentials) return null;
  const trimmed = credentials.trim();
  return /^[A-Za-z][A-Za-z0-9-]*\s+\S/.test(trimmed) ? trimmed : `Bearer ${trimmed}`;
}

function bearerToken(authorization: string | null | undefined): string | null {
  if (!authorization) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (!m || m[1].length > MAX_BEARER_LENGTH) return null;
  return m[1];
}

/** Without a connector (unknown or malformed service) there is no Cedar namespace to name the call in. */
function blankIfNoNamespace(decision: CallDecision, namespace: string): CallDecision {
  return namespace ? decision : { ...decision, action: '', principal: '', resource: '' };
}

/** Database failures become UnavailableError: the proxy then answers 503 and forwards nothing. */
async function fromDatabase<T>(logger: Logger, what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof UnavailableError) throw error;
    logger.error({ err: { message: error instanceof Error ? error.message : String(error), code: (error as { code?: unknown })?.code } }, `proxy: ${what} failed`);
    throw new UnavailableError(`the database is unavailable (${what})`);
  }
}

/**
 * The use cases of the MCP call path (spec §4): authenticate a member key, limit its rate, check the
 * agent and the member, resolve `service__tool`, decide, and commit the audit entry before anything is
 * forwarded. The HTTP transport (packages/proxy) only parses, maps verdicts to answers and forwards.
 */
export class ProxyService {
  readonly writer: AuditWriter;
  readonly limiter: RateLimiter | null;
  private readonly clock: () => Date;
  private readonly callerCacheSize: number;
  /**
   * `${digest}\n${tool name}` → caller with route and guard, oldest first (bounded), with the serial of
   * the read it came from: a slow read that started first never replaces a later one.
   */
  private readonly callers = new Map<string, { caller: Caller; serial: number }>();
  private readSerial = 0;
  /** service → its sealed credentials and their Authorization value (see upstreamAuthorizationOf). */
  private readonly openedCredentials = new Map<string, { sealed: string; authorization: string | null }>();

  constructor(
    private readonly deps: ProxyServiceDeps,
    options: ProxyServiceOptions = {},
  ) {
    this.clock = options.clock ?? (() => new Date());
    this.limiter = options.rateLimit === false ? null : new RateLimiter(options.rateLimit ?? {});
    this.writer = new AuditWriter(deps.db, deps.events, deps.logger, options.audit);
    this.callerCacheSize = options.callerCache === false ? 0 : (options.callerCache ?? 10_000);
  }

  /**
   * Caller lookups made, `tools/call`s served from the caller cache, and decisions made again because
   * their guarded entry found the caller changed (metrics, tests).
   */
  readonly callerStats = { reads: 0, cacheHits: 0, staleRetries: 0 };

  /** How many callers the cache holds. */
  get cachedCallers(): number {
    return this.callers.size;
  }

  /**
   * Key digest → member, agent, key; null for a missing, malformed, unknown, rotated or revoked key.
   * With `toolName` (a `tools/call`), the call's route is read in the same query: one database round
   * trip before the decision.
   */
  async authenticate(authorization: string | null | undefined, toolName?: string): Promise<Caller | null> {
    const key = bearerToken(authorization);
    if (!key) return null;
    const digest = this.deps.secrets.digest(key);
    if (toolName !== undefined && this.callerCacheSize > 0) {
      const cached = this.callers.get(`${digest}\n${toolName}`);
      if (cached) {
        this.callerStats.cacheHits++;
        return cached.caller;
      }
    }
    return this.readCaller(digest, toolName);
  }

  /**
   * The caller read again from the database when `caller` came from the cache (else `caller` itself):
   * for answers given before the guarded INSERT could notice a change (a rate limit), so that a key
   * revoked meanwhile gets its 401.
   */
  async fresh(caller: Caller): Promise<Caller | null> {
    const guard = caller.call?.guard;
    const cacheKey = `${guard?.digest}\n${caller.call?.name}`;
    if (!guard || this.callers.get(cacheKey)?.caller !== caller) return caller;
    this.callers.delete(cacheKey);
    return this.readCaller(guard.digest, caller.call!.name);
  }

  /** The lookup itself; a `tools/call` caller of a known tool gets its guard and is cached. */
  private async readCaller(digest: string, toolName: string | undefined): Promise<Caller | null> {
    const serial = ++this.readSerial;
    const name = toolName === undefined ? null : parseToolName(toolName);
    // Text the database cannot take (NUL) must not fail the key lookup: such a name matches no
    // connector or tool anyway, and is answered as unknown after authentication.
    const parsed = name && { service: storableText(name.service), tool: storableText(name.tool) };
    this.callerStats.reads++;
    const row: (repo.CallerRow & { route?: repo.CallRouteRow | null; fingerprint?: string }) | undefined = await fromDatabase(this.deps.logger, 'key lookup', () =>
      parsed ? repo.findCaller(this.deps.db, digest, parsed) : repo.findCaller(this.deps.db, digest),
    );
    if (!row) return null;
    const guard = parsed && row.route?.tool_name && row.fingerprint ? { digest, service: parsed.service, tool: parsed.tool, fingerprint: row.fingerprint } : undefined;
    const caller: Caller = {
      policyRevision: String(row.policy_revision),
      call: toolName === undefined ? undefined : { name: toolName, route: row.route, guard },
      keyRowId: row.key_row_id,
      keyId: row.key_id,
      memberId: row.member_id,
      memberName: row.display_name || row.email,
      memberStatus: row.member_status,
      agentId: row.agent_id,
      agentName: row.agent_name,
      agentStatus: row.agent_status,
      trustMode: row.trust_mode === 'untrusted' ? 'untrusted' : 'trusted',
      timezone: row.timezone,
    };
    // Only known tools are cached: every verdict for them writes an entry, whose INSERT checks the guard.
    // (Unknown names are answered without an entry, so nothing would notice a connector installed since.)
    if (guard && this.callerCacheSize > 0) {
      const cacheKey = `${digest}\n${toolName}`;
      if ((this.callers.get(cacheKey)?.serial ?? 0) < serial) {
        this.callers.delete(cacheKey);
        if (this.callers.size >= this.callerCacheSize) this.callers.delete(this.callers.keys().next().value!);
        this.callers.set(cacheKey, { caller, serial });
      }
    }
    return caller;
  }

  /** One token from the caller's key bucket. */
  takeToken(caller: Caller): { ok: true } | { ok: false; retryAfterSeconds: number } {
    return this.limiter ? this.limiter.take(caller.keyRowId) : { ok: true };
  }

  /**
   * Spec §4 pre-checks in the proxy's order, with simulate's words (precheckCall): agent active, member
   * approved, and, when `serviceEnabled` is given, the service enabled on the agent.
   */
  precheck(caller: Caller, call: { service: string; tool: string; namespace: string; serviceEnabled?: boolean }): CallDecision | null {
    return precheckCall({
      agent: { name: caller.agentName, status: caller.agentStatus },
      member: { status: caller.memberStatus },
      service: call.service,
      namespace: call.namespace,
      tool: call.tool,
      memberId: caller.memberId,
      serviceEnabled: call.serviceEnabled ?? true,
    });
  }

  /** Why this caller may not use the agent at all (agent disabled, membership not approved), or null. */
  refusal(caller: Caller): string | null {
    return this.precheck(caller, { service: '', tool: '', namespace: '' })?.reason ?? null;
  }

  /** The enabled services' catalog tools, prefixed, without the ones the caller could never be allowed to call. */
  async listTools(caller: Caller): Promise<ListedTool[]> {
    const [rows, policies] = await fromDatabase(this.deps.logger, 'tool list', () =>
      Promise.all([repo.listToolsOfAgent(this.deps.db, caller.agentId), this.deps.decisions.loadAgentPolicies(caller.agentId, caller.policyRevision)]),
    );
    const agent = { trustMode: caller.trustMode };
    return rows
      .filter((t) => couldEverAllow(policies, { agent, memberId: caller.memberId, service: t.service, tool: t.name }))
      .map((t) => ({
        name: `${t.service}__${t.name}`,
        service: t.service,
        tool: t.name,
        description: t.description,
        tier: t.tier as ListedTool['tier'],
        inputSchema: (typeof t.input_schema === 'string' ? JSON.parse(t.input_schema) : t.input_schema) as Record<string, unknown>,
      }));
  }

  /**
   * Steps 4–8 of spec §4 for one `tools/call`, for a caller authenticated for this tool name
   * (`authenticate(authorization, name)`, which read the route). Every verdict that carries an entryId
   * has had its entry committed. Throws UnavailableError when the database cannot be read or the entry
   * cannot be committed.
   */
  async authorizeToolCall(caller: Caller, call: { name: string; arguments: Record<string, unknown> }, ctx: CallContext): Promise<ToolCallVerdict> {
    if (caller.call?.name !== call.name) throw new Error('authorizeToolCall: the caller was not authenticated for this tool name');
    // A guarded entry is written only if the caller it was decided for is still current (one statement,
    // no extra round trip). When it is not, the cached caller is dropped and the call decided again on a
    // fresh read; the third attempt is written unguarded (decided on a read just made, as without a cache).
    let current = caller as Caller & { call: NonNullable<Caller['call']> };
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.decideAndRecord(current, call, ctx, attempt < 3);
      } catch (error) {
        if (!(error instanceof StaleCallerError)) throw error;
      }
      this.callerStats.staleRetries++;
      const digest = current.call.guard!.digest; // only guarded rows can be stale
      this.callers.delete(`${digest}\n${call.name}`);
      const fresh = await this.readCaller(digest, call.name);
      if (!fresh) return { kind: 'unauthenticated' };
      current = fresh as typeof current;
    }
  }

  private async decideAndRecord(
    caller: Caller & { call: NonNullable<Caller['call']> },
    call: { name: string; arguments: Record<string, unknown> },
    ctx: CallContext,
    guarded: boolean,
  ): Promise<ToolCallVerdict> {
    const time = this.clock();
    const parsed = parseToolName(call.name);
    const route = caller.call.route ?? undefined;
    // No query when the cached set is at the caller's revision (the usual case).
    const policies = await fromDatabase(this.deps.logger, 'policy load', () => this.deps.decisions.loadAgentPolicies(caller.agentId, caller.policyRevision));
    const service = parsed?.service ?? '';
    const tool = parsed?.tool ?? call.name;
    const namespace = route?.cedar_namespace ?? '';
    const sensitiveKeys = route?.sensitive_keys ?? [];
    const entry = { service, tool, args: call.arguments, sensitiveKeys, guard: guarded ? caller.call.guard : undefined };

    // Agent and member first (403). Recorded even when the name is malformed or unknown: a disabled
    // agent's attempts are what an admin looks for.
    const refused = this.precheck(caller, { service, tool, namespace });
    if (refused) {
      const decidedAt = performance.now();
      const committed = await this.writer.write(this.entryRow(caller, ctx, time, { ...entry, decision: blankIfNoNamespace(refused, namespace), durationMs: decidedAt - ctx.receivedAt }));
      return { kind: 'refused', rule: refused.rule as PrecheckRule, reason: refused.reason, entryId: committed.id, decidedAt };
    }
    if (!parsed) {
      return { kind: 'invalid_name', message: `Tool names have the form <service>__<tool> (two underscores); "${call.name.slice(0, MAX_NAME_LENGTH)}" has no service prefix.` };
    }
    if (!route) return { kind: 'unknown_service', message: `Unknown service "${service}": no connector is installed under that key.` };
    if (!route.tool_name) return { kind: 'unknown_tool', message: `Unknown tool: ${service}__${tool} (the ${service} connector has no tool "${tool}").` };

    const decision: CallDecision =
      this.precheck(caller, { service, tool, namespace, serviceEnabled: route.service_enabled }) ??
      this.deps.decisions.decide(policies, {
        agent: { id: caller.agentId, trustMode: caller.trustMode, timezone: caller.timezone },
        member: { id: caller.memberId },
        service,
        namespace,
        tool,
        arguments: call.arguments,
        time,
        callerIp: ctx.callerIp,
      });
    const decidedAt = performance.now();
    const denied = decision.decision === 'DENY';
    // A DENY has no upstream part: its outcome (the decision time) is complete when it is written.
    const committed = await this.writer.write(this.entryRow(caller, ctx, time, { ...entry, decision, durationMs: denied ? decidedAt - ctx.receivedAt : null }));
    if (denied) return { kind: 'denied', rule: decision.rule, reason: decision.reason, entryId: committed.id, decidedAt };

    const authorization = this.upstreamAuthorizationOf(service, route.credentials_encrypted);
    return { kind: 'allowed', reason: decision.reason, entryId: committed.id, upstream: { service, tool, url: route.upstream_url, authorization }, decidedAt };
  }

  /**
   * The connector's credentials as an Authorization value, decrypted once per service and sealed value
   * (a changed credential is a new sealed value; the caller's guard saw it, and it replaces the old one
   * here). Held in memory only, like the call itself.
   */
  private upstreamAuthorizationOf(service: string, sealed: string | null): string | null {
    if (!sealed) return null;
    const known = this.openedCredentials.get(service);
    if (known?.sealed === sealed) return known.authorization;
    let authorization: string | null = null;
    try {
      authorization = upstreamAuthorization(this.deps.secrets.decrypt(sealed));
    } catch {
      // A sealed value this server cannot open (another WICKET_SECRET): the upstream will refuse the call.
      this.deps.logger.error({ service }, 'proxy: connector credentials cannot be decrypted with this server secret');
      return null;
    }
    // One entry per service: new credentials replace the old ones (and their clear text) at once.
    this.openedCredentials.set(service, { sealed, authorization });
    return authorization;
  }

  /** The outcome of a forwarded call, filled once; written in the next outcome batch. */
  recordOutcome(entryId: string, outcome: AuditOutcomeInput): void {
    this.writer.recordOutcome(entryId, { ...outcome, upstreamError: outcome.upstreamError === null ? null : storableText(outcome.upstreamError, 1000) });
  }

  async close(): Promise<void> {
    await this.writer.close();
  }

  private entryRow(
    caller: Caller,
    ctx: CallContext,
    time: Date,
    e: {
      service: string;
      tool: string;
      args: Record<string, unknown>;
      sensitiveKeys: readonly string[];
      decision: CallDecision;
      durationMs: number | null;
      guard: AuditRowToWrite['guard'];
    },
  ): AuditRowToWrite {
    const d = e.decision;
    const matched: MatchedPolicy[] = d.matched.map((p) => ({ id: p.id, key: p.key, name: p.name, version: p.version, effect: p.effect }));
    const done = e.durationMs !== null;
    return {
      id: randomUUID(),
      timestamp: time,
      agent_id: caller.agentId,
      agent_name: caller.agentName,
      member_id: caller.memberId,
      member_name: storableText(caller.memberName),
      member_key_id: caller.keyId,
      session_id: ctx.sessionId ? storableText(ctx.sessionId, MAX_SESSION_ID_LENGTH) : null,
      service: storableText(e.service, MAX_NAME_LENGTH),
      tool: storableText(e.tool, MAX_NAME_LENGTH),
      action: storableText(d.action, 1000),
      resource: storableText(d.resource, 1000),
      caller_ip: ctx.callerIp ? (normalizeCallerIp(ctx.callerIp) ?? storableText(ctx.callerIp, 100)) : null,
      tool_args: argumentsForAudit(e.args, e.sensitiveKeys),
      decision: d.decision,
      reason: storableText(d.reason, 2000),
      policy_id: d.deciding?.id ?? null,
      matched_policy_ids: matched.map((p) => p.id),
      matched_policies: JSON.stringify(matched),
      principal: storableText(d.principal, 1000),
      duration_ms: done ? Math.max(0, Math.round(e.durationMs!)) : null,
      completed_at: done ? time : null,
      guard: e.guard ?? null,
    };
  }
}
