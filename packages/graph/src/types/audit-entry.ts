import type { AuditEntry as AuditEntryModel, AuditStats as AuditStatsModel, MatchedPolicyRef } from '@wicket/core';
import { builder } from '../builder.ts';
import { Decision, PolicyEffect, StatsBucket } from './enums.ts';
import { PageInfo } from './errors.ts';

export const MatchedPolicy = builder.objectRef<MatchedPolicyRef>('MatchedPolicy').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    key: t.exposeString('key'),
    name: t.exposeString('name'),
    version: t.exposeInt('version'),
    effect: t.field({ type: PolicyEffect, resolve: (p) => p.effect }),
  }),
});

export const AuditEntry = builder.objectRef<AuditEntryModel>('AuditEntry').implement({
  description: 'One tool call that reached a decision (spec §5). Immutable except for its outcome, filled in once.',
  fields: (t) => ({
    id: t.exposeID('id'),
    timestamp: t.field({ type: 'DateTime', resolve: (e) => e.timestamp }),
    agentId: t.exposeID('agentId'),
    agentName: t.exposeString('agentName'),
    memberId: t.exposeID('memberId', { nullable: true }),
    memberName: t.exposeString('memberName'),
    memberKeyId: t.exposeString('memberKeyId', { nullable: true }),
    sessionId: t.exposeString('sessionId', { nullable: true }),
    service: t.exposeString('service'),
    tool: t.exposeString('tool', { description: 'Tool name without the service prefix' }),
    action: t.exposeString('action', { description: 'Cedar action, e.g. GitHubMCP::Action::"delete_file"' }),
    resource: t.exposeString('resource'),
    callerIp: t.exposeString('callerIp', { nullable: true }),
    toolArgs: t.field({ type: 'JSON', description: 'Tool arguments, redacted', resolve: (e) => e.toolArgs }),
    decision: t.field({ type: Decision, resolve: (e) => e.decision }),
    reason: t.exposeString('reason'),
    matchedPolicyIds: t.exposeStringList('matchedPolicyIds', {
      description: 'Keys of the matched policies (legacy name); hidden from members of trusted agents',
    }),
    matchedPolicyNames: t.exposeStringList('matchedPolicyNames'),
    matchedPolicies: t.field({ type: [MatchedPolicy], resolve: (e) => e.matchedPolicies }),
    policyId: t.exposeID('policyId', { nullable: true, description: 'The deciding policy, if any' }),
    durationMs: t.exposeInt('durationMs', { nullable: true }),
    principal: t.exposeString('principal'),
    upstreamStatus: t.exposeString('upstreamStatus', { nullable: true }),
    upstreamError: t.exposeString('upstreamError', { nullable: true }),
  }),
});

export const AuditEntryEdge = builder.objectRef<AuditEntryModel>('AuditEntryEdge').implement({
  fields: (t) => ({
    cursor: t.exposeString('cursor'),
    node: t.field({ type: AuditEntry, resolve: (e) => e }),
  }),
});

export const AuditEntryConnection = builder
  .objectRef<{ entries: AuditEntryModel[]; hasNextPage: boolean; startCursor: string | null; endCursor: string | null }>('AuditEntryConnection')
  .implement({
    fields: (t) => ({
      edges: t.field({ type: [AuditEntryEdge], resolve: (c) => c.entries }),
      pageInfo: t.field({
        type: PageInfo,
        resolve: (c) => ({ hasNextPage: c.hasNextPage, hasPreviousPage: false, startCursor: c.startCursor, endCursor: c.endCursor }),
      }),
    }),
  });

export const AuditFilter = builder.inputType('AuditFilter', {
  description: 'The filter grammar of spec §6; the same for the list, the live stream, export and stats.',
  fields: (t) => ({
    result: t.field({ type: Decision }),
    service: t.string({ description: 'Exact service key' }),
    tool: t.string({ description: 'Case-insensitive substring of the tool name' }),
    agent: t.string({ description: 'Case-insensitive substring of the agent name' }),
    member: t.id({ description: 'Exact member id (UUID)' }),
    policy: t.id({ description: 'Exact policy id (UUID): entries in which that policy matched' }),
    from: t.string({ description: 'ISO date or date-time, inclusive; no offset means UTC' }),
    to: t.string({ description: 'ISO date or date-time, inclusive; a date-only value covers that whole day' }),
    agentId: t.id({ description: 'Exact agent id (the console scopes an agent with it)' }),
  }),
});

type ToolCountModel = AuditStatsModel['services'][number]['topTools'][number];
type PolicyCountModel = AuditStatsModel['services'][number]['topDenyingPolicies'][number];

const ToolCount = builder.objectRef<ToolCountModel>('ToolCount').implement({
  fields: (t) => ({ tool: t.exposeString('tool'), total: t.exposeInt('total'), denied: t.exposeInt('denied') }),
});
const PolicyCount = builder.objectRef<PolicyCountModel>('PolicyCount').implement({
  fields: (t) => ({ policyId: t.exposeID('policyId'), key: t.exposeString('key'), name: t.exposeString('name'), count: t.exposeInt('count') }),
});
const ServiceStats = builder.objectRef<AuditStatsModel['services'][number]>('ServiceStats').implement({
  fields: (t) => ({
    service: t.exposeString('service'),
    total: t.exposeInt('total'),
    allowed: t.exposeInt('allowed'),
    denied: t.exposeInt('denied'),
    topTools: t.field({ type: [ToolCount], resolve: (s) => s.topTools }),
    topDenyingPolicies: t.field({ type: [PolicyCount], resolve: (s) => s.topDenyingPolicies }),
  }),
});
const StatsPoint = builder.objectRef<AuditStatsModel['series'][number]>('StatsPoint').implement({
  fields: (t) => ({
    start: t.field({ type: 'DateTime', resolve: (p) => p.start }),
    allowed: t.exposeInt('allowed'),
    denied: t.exposeInt('denied'),
  }),
});
const AuditStats = builder.objectRef<AuditStatsModel>('AuditStats').implement({
  fields: (t) => ({
    total: t.exposeInt('total'),
    allowed: t.exposeInt('allowed'),
    denied: t.exposeInt('denied'),
    denyRatio: t.exposeFloat('denyRatio', { description: 'denied / total, 0 without traffic' }),
    allowRatio: t.exposeFloat('allowRatio'),
    bucket: t.field({ type: StatsBucket, resolve: (s) => s.bucket }),
    from: t.field({ type: 'DateTime', resolve: (s) => s.from }),
    to: t.field({ type: 'DateTime', resolve: (s) => s.to, description: 'Exclusive end of the window' }),
    series: t.field({ type: [StatsPoint], resolve: (s) => s.series }),
    services: t.field({ type: [ServiceStats], resolve: (s) => s.services }),
  }),
});

builder.queryFields((t) => ({
  auditEntries: t.field({
    type: AuditEntryConnection,
    description: 'Newest first (timestamp, then id); keyset cursors, stable under inserts.',
    args: { filter: t.arg({ type: AuditFilter }), first: t.arg.int(), after: t.arg.string() },
    resolve: async (_root, args, ctx) => ctx.core.audit.list(await ctx.access(), args.filter, { first: args.first, after: args.after }),
  }),
  auditEntry: t.field({
    type: AuditEntry,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => {
      const access = await ctx.access();
      try {
        return await ctx.core.audit.get(access, args.id);
      } catch (e) {
        if ((e as { code?: string }).code === 'NOT_FOUND') return null;
        throw e;
      }
    },
  }),
  auditEntriesByIds: t.field({
    type: [AuditEntry],
    description:
      'The entries with these ids that the viewer may see (at most 100), in the order asked; ids not found or not visible are left out. For refreshing rows already shown, e.g. live rows whose outcome (duration, upstream status) was recorded after they were streamed.',
    args: { ids: t.arg.idList({ required: true }) },
    resolve: async (_root, args, ctx) => ctx.core.audit.getMany(await ctx.access(), args.ids.map(String)),
  }),
  auditStats: t.field({
    type: AuditStats,
    description: 'Totals, ratio, series and per-service breakdown for the filter; without from, the last 24 hours.',
    args: { filter: t.arg({ type: AuditFilter }), bucket: t.arg({ type: StatsBucket }) },
    resolve: async (_root, args, ctx) => ctx.core.audit.stats(await ctx.access(), args.filter, args.bucket),
  }),
}));
