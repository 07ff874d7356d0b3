import type { AgentView, MemberView } from '@wicket/core';
import { ValidationError, NotFoundError } from '@wicket/core';
import { builder } from '../builder.ts';
import { AgentStatus, MemberRole, TrustMode } from './enums.ts';
import { PageInfo, SortDirection } from './errors.ts';
import { Member } from './member.ts';

export const Agent = builder.objectRef<AgentView>('Agent');

Agent.implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    tags: t.exposeStringList('tags'),
    status: t.field({ type: AgentStatus, resolve: (a) => a.status }),
    trustMode: t.field({ type: TrustMode, resolve: (a) => a.trustMode }),
    timezone: t.exposeString('timezone', { description: 'IANA timezone used by policy time windows' }),
    viewerRole: t.field({ type: MemberRole, description: "The viewer's role on this agent", resolve: (a) => a.viewerRole }),
    createdAt: t.field({ type: 'DateTime', resolve: (a) => a.createdAt }),
    updatedAt: t.field({ type: 'DateTime', resolve: (a) => a.updatedAt }),
    enabledServices: t.loadableList({
      type: 'String',
      load: (ids: string[], ctx) => ctx.core.agents.enabledServices(ids),
      resolve: (a) => a.id,
    }),
    members: t.field({
      type: [Member],
      description: 'Owners see every member; a member sees their own membership',
      resolve: async (a, _args, ctx) => ctx.core.members.list(await ctx.access(), { agentId: a.id }),
    }),
  }),
});

const AgentEdge = builder.objectRef<{ cursor: string; node: AgentView }>('AgentEdge').implement({
  fields: (t) => ({ cursor: t.exposeString('cursor'), node: t.field({ type: Agent, resolve: (e) => e.node }) }),
});

const AgentConnection = builder
  .objectRef<{ edges: { cursor: string; node: AgentView }[]; hasNextPage: boolean; total: number }>('AgentConnection')
  .implement({
    fields: (t) => ({
      edges: t.field({ type: [AgentEdge], resolve: (c) => c.edges }),
      totalCount: t.exposeInt('total'),
      pageInfo: t.field({
        type: PageInfo,
        resolve: (c) => ({
          hasNextPage: c.hasNextPage,
          hasPreviousPage: false,
          startCursor: c.edges[0]?.cursor ?? null,
          endCursor: c.edges[c.edges.length - 1]?.cursor ?? null,
        }),
      }),
    }),
  });

const AgentFilter = builder.inputType('AgentFilter', {
  fields: (t) => ({
    search: t.string({ description: 'Substring of the name' }),
    status: t.field({ type: AgentStatus }),
    role: t.field({ type: MemberRole, description: "The viewer's role on the agent" }),
  }),
});
const AgentSortField = builder.enumType('AgentSortField', { values: ['name', 'status', 'createdAt', 'updatedAt'] as const });
const AgentSort = builder.inputType('AgentSort', {
  fields: (t) => ({
    field: t.field({ type: AgentSortField, required: true }),
    direction: t.field({ type: SortDirection, required: true }),
  }),
});

builder.queryFields((t) => ({
  agents: t.field({
    type: AgentConnection,
    args: { filter: t.arg({ type: AgentFilter }), sort: t.arg({ type: AgentSort }), first: t.arg.int(), after: t.arg.string() },
    resolve: async (_root, args, ctx) => {
      const r = await ctx.core.agents.list(await ctx.access(), {
        search: args.filter?.search,
        status: args.filter?.status,
        role: args.filter?.role,
        sortBy: args.sort?.field,
        sortDir: args.sort?.direction,
        limit: args.first,
        after: args.after,
      });
      return { edges: r.agents.map((node, i) => ({ node, cursor: r.cursors[i] })), hasNextPage: r.hasNextPage, total: r.total };
    },
  }),
  agent: t.field({
    type: Agent,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => ctx.core.agents.get(await ctx.access(), args.id),
  }),
}));

const AgentPayload = builder.objectRef<{ agent: AgentView }>('AgentPayload').implement({
  fields: (t) => ({ agent: t.field({ type: Agent, resolve: (p) => p.agent }) }),
});

builder.mutationFields((t) => ({
  setAgentStatus: t.field({
    type: AgentPayload,
    description: 'The emergency stop: disabled refuses every proxy call of the agent with 403 until re-enabled',
    errors: { types: [ValidationError, NotFoundError], directResult: true, union: { name: 'SetAgentStatusResult' } },
    args: { id: t.arg.id({ required: true }), status: t.arg({ type: AgentStatus, required: true }) },
    resolve: async (_root, args, ctx) => ({ agent: await ctx.core.agents.setStatus(await ctx.access(), args.id, args.status) }),
  }),
}));

export type { MemberView };
