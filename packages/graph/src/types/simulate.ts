import type { ReplayChangeView, ReplaySummary, SimulationResult as SimulationResultModel } from '@wicket/core';
import { NotFoundError, ValidationError } from '@wicket/core';
import { builder } from '../builder.ts';
import { AuditEntry, MatchedPolicy } from './audit-entry.ts';
import { Decision } from './enums.ts';
import { PolicyInput } from './policy.ts';

const SimulateCallInput = builder.inputType('SimulateCallInput', {
  description: 'A hypothetical tool call; nothing is called and nothing is written',
  fields: (t) => ({
    agentId: t.id({ required: true }),
    memberId: t.id({ description: 'Absent: a member no specific_members policy names (and no approval check)' }),
    service: t.string({ required: true }),
    tool: t.string({ required: true, description: 'Without the service prefix' }),
    arguments: t.field({ type: 'JSON', description: 'Tool arguments (a JSON object)' }),
    time: t.field({ type: 'DateTime', description: 'Default: now' }),
    callerIp: t.string(),
    draft: t.field({ type: PolicyInput, description: 'A draft policy to evaluate as if saved and enabled' }),
    replacesPolicyId: t.id({ description: 'The policy the draft replaces; absent = the draft is a new policy' }),
  }),
});

const SimulationResult = builder.objectRef<SimulationResultModel>('SimulationResult').implement({
  description: "The proxy's decision for the call: pre-checks (agent, member, service), then policies",
  fields: (t) => ({
    decision: t.field({ type: Decision, resolve: (r) => r.decision }),
    reason: t.exposeString('reason'),
    rule: t.exposeString('rule', {
      description:
        'What decided: agent_disabled, member_not_approved, service_not_enabled, forbid, permit, default_allow, fail_closed, no_permit or evaluation_error',
    }),
    matchedPolicies: t.field({ type: [MatchedPolicy], resolve: (r) => r.matched }),
    decidingPolicy: t.field({ type: MatchedPolicy, nullable: true, resolve: (r) => r.deciding }),
    draftPolicy: t.field({ type: MatchedPolicy, nullable: true, description: 'The draft as it took part (id "draft" when new)', resolve: (r) => r.draft }),
    cedar: t.exposeString('cedar', { description: "Cedar text of the service's enabled policies (draft included), as evaluated" }),
    time: t.field({ type: 'DateTime', resolve: (r) => r.time }),
    action: t.exposeString('action'),
    principal: t.exposeString('principal'),
    resource: t.exposeString('resource'),
  }),
});

const ReplayInput = builder.inputType('ReplayInput', {
  fields: (t) => ({
    agentId: t.id({ required: true }),
    draft: t.field({ type: PolicyInput, required: true }),
    replacesPolicyId: t.id({ description: 'The policy the draft replaces; absent = the draft is a new policy' }),
    from: t.field({ type: 'DateTime', description: 'Default: 24 hours before to' }),
    to: t.field({ type: 'DateTime', description: 'Default: now' }),
  }),
});

const ReplayChange = builder.objectRef<ReplayChangeView>('ReplayChange').implement({
  fields: (t) => ({
    entry: t.field({ type: AuditEntry, resolve: (c) => c.entry }),
    recordedDecision: t.field({ type: Decision, description: 'As recorded in the audit log', resolve: (c) => c.recordedDecision }),
    baselineDecision: t.field({ type: Decision, description: "With the agent's current policies", resolve: (c) => c.baselineDecision }),
    draftDecision: t.field({ type: Decision, description: 'With the draft applied', resolve: (c) => c.draftDecision }),
  }),
});

const ReplayResult = builder.objectRef<ReplaySummary>('ReplayResult').implement({
  description: "A draft policy replayed against the agent's audit entries of a window",
  fields: (t) => ({
    from: t.field({ type: 'DateTime', resolve: (r) => r.from }),
    to: t.field({ type: 'DateTime', resolve: (r) => r.to }),
    total: t.exposeInt('total'),
    beforeAllowed: t.exposeInt('beforeAllowed', { description: 'Before: as recorded' }),
    beforeDenied: t.exposeInt('beforeDenied'),
    afterAllowed: t.exposeInt('afterAllowed', { description: 'After: with the draft' }),
    afterDenied: t.exposeInt('afterDenied'),
    changed: t.exposeInt('changed', { description: 'Entries whose decision with the draft differs from the current policies' }),
    unmatched: t.exposeInt('unmatched', { description: "Entries in the draft's scope that lack what it needs (redacted or absent argument, unknown caller IP)" }),
    unmatchedEntryIds: t.exposeIDList('unmatchedEntryIds'),
    truncated: t.exposeBoolean('truncated', { description: 'The window held more entries than are replayed (50,000): only the newest were' }),
    changes: t.field({ type: [ReplayChange], description: 'The newest 500 changed entries', resolve: (r) => r.changes }),
  }),
});

builder.queryFields((t) => ({
  simulate: t.field({
    type: SimulationResult,
    description: 'Decides a hypothetical call with the same engine and checks as the proxy; writes nothing. Owners only.',
    errors: { types: [ValidationError, NotFoundError], directResult: true, union: { name: 'SimulateResult' } },
    args: { input: t.arg({ type: SimulateCallInput, required: true }) },
    resolve: async (_root, args, ctx) => ctx.core.simulate.call(await ctx.access(), args.input),
  }),
  replay: t.field({
    type: ReplayResult,
    description: "Replays a draft policy against the agent's recorded calls (default: the last 24 hours); writes nothing. Owners only.",
    errors: { types: [ValidationError, NotFoundError], directResult: true, union: { name: 'ReplayPayload' } },
    args: { input: t.arg({ type: ReplayInput, required: true }) },
    resolve: async (_root, args, ctx) => ctx.core.simulate.replay(await ctx.access(), args.input),
  }),
}));
