import type { MemberKeyInfo as MemberKeyInfoModel, MemberView } from '@wicket/core';
import { NotFoundError, ValidationError } from '@wicket/core';
import { builder } from '../builder.ts';
import { MemberRole, MemberStatus } from './enums.ts';

const MemberKeyInfo = builder.objectRef<MemberKeyInfoModel>('MemberKeyInfo').implement({
  fields: (t) => ({
    keyId: t.exposeString('keyId'),
    suffix: t.exposeString('suffix', { description: 'Last characters of the key, to recognise it' }),
    createdAt: t.field({ type: 'DateTime', resolve: (k) => k.createdAt }),
  }),
});

export const Member = builder.objectRef<MemberView>('Member');
Member.implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    agentId: t.exposeID('agentId'),
    agentName: t.exposeString('agentName'),
    accountId: t.exposeID('accountId'),
    role: t.field({ type: MemberRole, resolve: (m) => m.role }),
    status: t.field({ type: MemberStatus, resolve: (m) => m.status }),
    displayName: t.exposeString('displayName'),
    email: t.exposeString('email'),
    createdAt: t.field({ type: 'DateTime', resolve: (m) => m.createdAt }),
    key: t.loadable({
      type: MemberKeyInfo,
      nullable: true,
      description: 'The active key: id and suffix only; the secret is shown once, when created',
      load: (ids: string[], ctx) => ctx.core.members.activeKeys(ids),
      resolve: (m) => m.id,
    }),
  }),
});

builder.queryFields((t) => ({
  members: t.field({
    type: [Member],
    description: 'Members the viewer may see (and filter the audit log by)',
    args: { agentId: t.arg.id(), status: t.arg({ type: MemberStatus }) },
    resolve: async (_root, args, ctx) => ctx.core.members.list(await ctx.access(), { agentId: args.agentId, status: args.status }),
  }),
}));

const MemberPayload = builder.objectRef<{ member: MemberView }>('MemberPayload').implement({
  fields: (t) => ({ member: t.field({ type: Member, resolve: (p) => p.member }) }),
});
const MemberKeyPayload = builder.objectRef<{ key: string; keyId: string; suffix: string; member: MemberView }>('MemberKeyPayload').implement({
  description: 'The only time a key is shown',
  fields: (t) => ({
    key: t.exposeString('key'),
    keyId: t.exposeString('keyId'),
    suffix: t.exposeString('suffix'),
    member: t.field({ type: Member, resolve: (p) => p.member }),
  }),
});

builder.mutationFields((t) => ({
  setMemberStatus: t.field({
    type: MemberPayload,
    errors: { types: [ValidationError, NotFoundError], directResult: true, union: { name: 'SetMemberStatusResult' } },
    args: { agentId: t.arg.id({ required: true }), memberId: t.arg.id({ required: true }), status: t.arg({ type: MemberStatus, required: true }) },
    resolve: async (_root, args, ctx) => ({ member: await ctx.core.members.setStatus(await ctx.access(), args.agentId, args.memberId, args.status) }),
  }),
  rotateMemberKey: t.field({
    type: MemberKeyPayload,
    description: 'Creates or rotates the key; the previous key stops working at once',
    errors: { types: [ValidationError, NotFoundError], directResult: true, union: { name: 'RotateMemberKeyResult' } },
    args: { agentId: t.arg.id({ required: true }), memberId: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => ctx.core.members.rotateKey(await ctx.access(), args.agentId, args.memberId),
  }),
  revokeMemberKey: t.field({
    type: MemberPayload,
    errors: { types: [ValidationError, NotFoundError], directResult: true, union: { name: 'RevokeMemberKeyResult' } },
    args: { agentId: t.arg.id({ required: true }), memberId: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => ({ member: await ctx.core.members.revokeKey(await ctx.access(), args.agentId, args.memberId) }),
  }),
}));
