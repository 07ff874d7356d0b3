import { builder } from '../builder.ts';

interface ActivityModel {
  id: string;
  action: string;
  targetType: string;
  targetId: string | null;
  accountEmail: string | null;
  agentId: string | null;
  before: unknown;
  after: unknown;
  createdAt: Date;
}

const AdminActivity = builder.objectRef<ActivityModel>('AdminActivity').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    action: t.exposeString('action'),
    targetType: t.exposeString('targetType'),
    targetId: t.exposeString('targetId', { nullable: true }),
    agentId: t.exposeID('agentId', { nullable: true }),
    accountEmail: t.exposeString('accountEmail', { nullable: true }),
    before: t.field({ type: 'JSON', nullable: true, resolve: (a) => a.before }),
    after: t.field({ type: 'JSON', nullable: true, resolve: (a) => a.after }),
    createdAt: t.field({ type: 'DateTime', resolve: (a) => a.createdAt }),
  }),
});

builder.queryFields((t) => ({
  adminActivity: t.field({
    type: [AdminActivity],
    description: 'Changes made by admins on the agents the viewer owns, newest first',
    args: { agentId: t.arg.id(), first: t.arg.int() },
    resolve: async (_r, args, ctx) => ctx.core.activity.list(await ctx.access(), { agentId: args.agentId, first: args.first }),
  }),
}));
