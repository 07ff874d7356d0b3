import type { PolicyContentView, PolicyVersionView, PolicyView } from '@wicket/core';
import { ConflictError, NotFoundError, ValidationError } from '@wicket/core';
import { builder } from '../builder.ts';
import { Agent } from './agent.ts';
import { PolicyEffect } from './enums.ts';

const Principal = builder.objectRef<PolicyContentView['principal']>('Principal').implement({
  description: 'Who a policy applies to: every member of the agent, or the listed members',
  fields: (t) => ({
    type: t.string({ description: 'all_members or specific_members', resolve: (p) => p.type }),
    memberIds: t.idList({ description: 'Empty for all_members', resolve: (p) => (p.type === 'specific_members' ? p.memberIds : []) }),
  }),
});

const TimeWindow = builder.objectRef<NonNullable<PolicyContentView['timeWindow']>>('TimeWindow').implement({
  description: "When a policy applies, in the agent's timezone; each part optional",
  fields: (t) => ({
    daysOfWeek: t.intList({ nullable: true, description: '0 = Sunday … 6 = Saturday', resolve: (w) => w.daysOfWeek ?? null }),
    hoursFrom: t.int({ nullable: true, description: '0–23', resolve: (w) => w.hoursFrom ?? null }),
    hoursTo: t.int({ nullable: true, description: '0–23, inclusive (9..17 = 09:00–17:59)', resolve: (w) => w.hoursTo ?? null }),
    activeFrom: t.string({ nullable: true, description: 'YYYY-MM-DD, inclusive', resolve: (w) => w.activeFrom ?? null }),
    activeTo: t.string({ nullable: true, description: 'YYYY-MM-DD, inclusive', resolve: (w) => w.activeTo ?? null }),
  }),
});

const ConditionOp = builder.enumType('ConditionOp', { values: ['eq', 'neq', 'contains', 'startsWith'] as const });

const PolicyCondition = builder.objectRef<PolicyContentView['conditions'][number]>('PolicyCondition').implement({
  description: 'A condition on a top-level tool argument (its text value)',
  fields: (t) => ({
    key: t.exposeString('key'),
    op: t.field({ type: ConditionOp, resolve: (c) => c.op }),
    value: t.exposeString('value'),
  }),
});

/** The content fields a policy (its current version) and each of its versions share. */
const PolicyContent = builder.interfaceRef<PolicyContentView & { cedar: string }>('PolicyContent').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    service: t.exposeString('service'),
    effect: t.field({ type: PolicyEffect, resolve: (p) => p.effect }),
    tools: t.exposeStringList('tools', { description: 'Empty = every tool of the service' }),
    principal: t.field({ type: Principal, resolve: (p) => p.principal }),
    timeWindow: t.field({ type: TimeWindow, nullable: true, resolve: (p) => p.timeWindow }),
    callerIps: t.exposeStringList('callerIps', { description: 'CIDR ranges the call must come from; empty = any address' }),
    conditions: t.field({ type: [PolicyCondition], description: 'All must hold', resolve: (p) => p.conditions }),
    denyMessage: t.exposeString('denyMessage', { nullable: true, description: 'Forbid only: the reason a denied call is given' }),
    cedar: t.exposeString('cedar', { description: 'Cedar text (read-only preview; what the engine evaluates)' }),
  }),
});

export const PolicyVersion = builder.objectRef<PolicyVersionView>('PolicyVersion');
export const Policy = builder.objectRef<PolicyView>('Policy');

PolicyVersion.implement({
  description: 'One immutable version of a policy',
  interfaces: [PolicyContent],
  isTypeOf: (v) => typeof v === 'object' && v !== null && 'policyId' in v,
  fields: (t) => ({
    version: t.exposeInt('version'),
    createdAt: t.field({ type: 'DateTime', resolve: (v) => v.createdAt }),
    createdBy: t.exposeString('createdBy', { nullable: true, description: 'Email of the account that saved it' }),
  }),
});

Policy.implement({
  description: 'A permit or forbid rule of one agent for one service (spec §2). Visible to owners of the agent only.',
  interfaces: [PolicyContent],
  isTypeOf: (v) => typeof v === 'object' && v !== null && 'agentId' in v && 'key' in v,
  fields: (t) => ({
    id: t.exposeID('id'),
    agentId: t.exposeID('agentId'),
    key: t.exposeString('key', { description: 'Slug, unique per agent; audit entries name matched policies by it' }),
    enabled: t.exposeBoolean('enabled'),
    version: t.exposeInt('version', { description: 'The current version' }),
    createdAt: t.field({ type: 'DateTime', resolve: (p) => p.createdAt }),
    updatedAt: t.field({ type: 'DateTime', resolve: (p) => p.updatedAt }),
    versions: t.loadableList({
      type: PolicyVersion,
      description: 'Every version, newest first',
      load: async (ids: string[], ctx) => ctx.core.policies.versionsOfPolicies(await ctx.access(), ids),
      resolve: (p) => p.id,
    }),
  }),
});

builder.objectField(Agent, 'policies', (t) =>
  t.loadableList({
    type: Policy,
    description: "The agent's policies; empty unless the viewer owns the agent",
    load: async (ids: string[], ctx) => ctx.core.policies.listForAgents(await ctx.access(), ids),
    resolve: (a) => a.id,
  }),
);

const PrincipalInput = builder.inputType('PrincipalInput', {
  fields: (t) => ({
    type: t.string({ required: true, description: 'all_members or specific_members' }),
    memberIds: t.idList({ description: 'With specific_members: the member ids' }),
  }),
});

const TimeWindowInput = builder.inputType('TimeWindowInput', {
  fields: (t) => ({
    daysOfWeek: t.intList({ description: '0 = Sunday … 6 = Saturday' }),
    hoursFrom: t.int({ description: '0–23' }),
    hoursTo: t.int({ description: '0–23, inclusive' }),
    activeFrom: t.string({ description: 'YYYY-MM-DD, inclusive' }),
    activeTo: t.string({ description: 'YYYY-MM-DD, inclusive' }),
  }),
});

const PolicyConditionInput = builder.inputType('PolicyConditionInput', {
  fields: (t) => ({
    key: t.string({ required: true, description: 'A top-level tool argument' }),
    op: t.field({ type: ConditionOp, required: true }),
    value: t.string({ required: true }),
  }),
});

export const PolicyInput = builder.inputType('PolicyInput', {
  description: 'The structured fields of spec §2 (REST bodies use the same names)',
  fields: (t) => ({
    name: t.string({ required: true }),
    key: t.string({ description: 'Slug unique per agent; derived from the name when absent; cannot change once created' }),
    service: t.string({ required: true }),
    effect: t.field({ type: PolicyEffect, required: true }),
    tools: t.stringList({ description: 'Empty or absent = every tool of the service' }),
    principal: t.field({ type: PrincipalInput, description: 'Absent = all members' }),
    timeWindow: t.field({ type: TimeWindowInput }),
    callerIps: t.stringList({ description: 'CIDR ranges; empty or absent = any address' }),
    conditions: t.field({ type: [PolicyConditionInput] }),
    denyMessage: t.string({ description: 'Forbid only, at most 500 characters' }),
    enabled: t.boolean({ description: 'Create: default true. Save: unchanged when absent' }),
  }),
});

builder.queryFields((t) => ({
  policies: t.field({
    type: [Policy],
    description: "An agent's policies (owners); empty for anyone else",
    args: { agentId: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => {
      try {
        return await ctx.core.policies.list(await ctx.access(), args.agentId);
      } catch (e) {
        if (e instanceof NotFoundError) return [];
        throw e;
      }
    },
  }),
  policy: t.field({
    type: Policy,
    nullable: true,
    description: 'A policy with its versions and Cedar preview (owners); null for anyone else',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => {
      try {
        return await ctx.core.policies.get(await ctx.access(), args.id);
      } catch (e) {
        if (e instanceof NotFoundError) return null;
        throw e;
      }
    },
  }),
}));

const PolicyPayload = builder.objectRef<{ policy: PolicyView }>('PolicyPayload').implement({
  fields: (t) => ({ policy: t.field({ type: Policy, resolve: (p) => p.policy }) }),
});

const changeErrors = [ValidationError, NotFoundError];

builder.mutationFields((t) => ({
  createPolicy: t.field({
    type: PolicyPayload,
    description: 'Creates a policy at version 1, enabled unless input.enabled is false. Owners only.',
    errors: { types: [...changeErrors, ConflictError], directResult: true, union: { name: 'CreatePolicyResult' } },
    args: { agentId: t.arg.id({ required: true }), input: t.arg({ type: PolicyInput, required: true }) },
    resolve: async (_root, args, ctx) => ({ policy: await ctx.core.policies.create(await ctx.access(), args.agentId, args.input) }),
  }),
  savePolicy: t.field({
    type: PolicyPayload,
    description: 'Saves the content as a new immutable version (none when nothing changed); takes effect on the next call',
    errors: { types: changeErrors, directResult: true, union: { name: 'SavePolicyResult' } },
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: PolicyInput, required: true }) },
    resolve: async (_root, args, ctx) => ({ policy: await ctx.core.policies.save(await ctx.access(), args.id, args.input) }),
  }),
  rollbackPolicy: t.field({
    type: PolicyPayload,
    description: "Saves an earlier version's content as a new version",
    errors: { types: changeErrors, directResult: true, union: { name: 'RollbackPolicyResult' } },
    args: { id: t.arg.id({ required: true }), version: t.arg.int({ required: true }) },
    resolve: async (_root, args, ctx) => ({ policy: await ctx.core.policies.rollback(await ctx.access(), args.id, args.version) }),
  }),
  togglePolicy: t.field({
    type: PolicyPayload,
    description: 'Flips enabled (no new version); takes effect on the next call',
    errors: { types: changeErrors, directResult: true, union: { name: 'TogglePolicyResult' } },
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => ({ policy: await ctx.core.policies.toggle(await ctx.access(), args.id) }),
  }),
  setPolicyEnabled: t.field({
    type: PolicyPayload,
    description: 'Enables or disables (no new version); takes effect on the next call',
    errors: { types: changeErrors, directResult: true, union: { name: 'SetPolicyEnabledResult' } },
    args: { id: t.arg.id({ required: true }), enabled: t.arg.boolean({ required: true }) },
    resolve: async (_root, args, ctx) => ({ policy: await ctx.core.policies.setEnabled(await ctx.access(), args.id, args.enabled) }),
  }),
}));
