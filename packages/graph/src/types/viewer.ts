import type { Viewer as ViewerModel } from '@wicket/core';
import { SESSION_COOKIE, SESSION_TTL_MS, ValidationError } from '@wicket/core';
import type { repo } from '@wicket/db';
import { builder } from '../builder.ts';


const Account = builder.objectRef<{ id: string; email: string; name: string }>('Account').implement({
  fields: (t) => ({ id: t.exposeID('id'), email: t.exposeString('email'), name: t.exposeString('name') }),
});

const ApiToken = builder.objectRef<repo.ApiTokenRow>('ApiToken').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    suffix: t.exposeString('suffix'),
    createdAt: t.field({ type: 'DateTime', resolve: (r) => r.created_at }),
    lastUsedAt: t.field({ type: 'DateTime', nullable: true, resolve: (r) => r.last_used_at }),
    revokedAt: t.field({ type: 'DateTime', nullable: true, resolve: (r) => r.revoked_at }),
  }),
});

const Viewer = builder.objectRef<ViewerModel>('Viewer').implement({
  fields: (t) => ({
    account: t.field({ type: Account, resolve: (v) => ({ id: v.accountId, email: v.email, name: v.name }) }),
    apiTokens: t.field({ type: [ApiToken], resolve: (v, _a, ctx) => ctx.core.auth.listApiTokens(v) }),
  }),
});

builder.queryFields((t) => ({
  viewer: t.field({
    type: Viewer,
    resolve: async (_root, _args, ctx) => (await ctx.access()).viewer,
  }),
}));

const ApiTokenPayload = builder.objectRef<{ token: string | null; apiToken: repo.ApiTokenRow }>('ApiTokenPayload').implement({
  fields: (t) => ({
    token: t.exposeString('token', { nullable: true, description: 'The secret, shown only when created' }),
    apiToken: t.field({ type: ApiToken, resolve: (p) => p.apiToken }),
  }),
});
const SignInCodePayload = builder.objectRef<{ ok: boolean }>('SignInCodePayload').implement({ fields: (t) => ({ ok: t.exposeBoolean('ok') }) });
const SignOutPayload = builder.objectRef<{ ok: boolean }>('SignOutPayload').implement({ fields: (t) => ({ ok: t.exposeBoolean('ok') }) });
const SignInPayload = builder.objectRef<{ account: { id: string; email: string; name: string } }>('SignInPayload').implement({
  fields: (t) => ({ account: t.field({ type: Account, resolve: (p) => p.account }) }),
});

function sessionCookie(value: string, maxAgeSeconds: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${maxAgeSeconds}${secure ? '; Secure' : ''}`;
}

export const publicMutations = new Set(['requestSignInCode', 'signIn', 'signInWithLink', 'signOut']);

builder.mutationFields((t) => ({
  createApiToken: t.field({
    type: ApiTokenPayload,
    errors: { types: [ValidationError], directResult: true, union: { name: 'CreateApiTokenResult' } },
    args: { name: t.arg.string({ required: true }) },
    resolve: async (_root, args, ctx) => {
      const viewer = (await ctx.access()).viewer;
      const { token, row } = await ctx.core.auth.createApiToken(viewer, args.name);
      return { token, apiToken: row };
    },
  }),
  revokeApiToken: t.field({
    type: ApiTokenPayload,
    errors: { types: [ValidationError], directResult: true, union: { name: 'RevokeApiTokenResult' } },
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => ({ token: null, apiToken: await ctx.core.auth.revokeApiToken((await ctx.access()).viewer, args.id) }),
  }),
  requestSignInCode: t.field({
    type: SignInCodePayload,
    description: 'Public. Sends (or logs) a one-time code; always ok, so accounts cannot be probed',
    errors: { types: [ValidationError], directResult: true, union: { name: 'RequestSignInCodeResult' } },
    args: { email: t.arg.string({ required: true }) },
    resolve: async (_root, args, ctx) => {
      await ctx.core.auth.requestSignInCode(args.email);
      return { ok: true };
    },
  }),
  signIn: t.field({
    type: SignInPayload,
    description: 'Public. Sets the httpOnly session cookie',
    errors: { types: [ValidationError], directResult: true, union: { name: 'SignInResult' } },
    args: { email: t.arg.string({ required: true }), code: t.arg.string({ required: true }) },
    resolve: async (_root, args, ctx) => {
      const { viewer, sessionToken } = await ctx.core.auth.signInWithCode(args.email, args.code);
      ctx.setCookie(sessionCookie(sessionToken, SESSION_TTL_MS / 1000, ctx.secureCookies));
      return { account: { id: viewer.accountId, email: viewer.email, name: viewer.name } };
    },
  }),
  signInWithLink: t.field({
    type: SignInPayload,
    description: 'Public. The one-time sign-in link printed at start; sets the session cookie',
    errors: { types: [ValidationError], directResult: true, union: { name: 'SignInWithLinkResult' } },
    args: { token: t.arg.string({ required: true }) },
    resolve: async (_root, args, ctx) => {
      const { viewer, sessionToken } = await ctx.core.auth.signInWithLink(args.token);
      ctx.setCookie(sessionCookie(sessionToken, SESSION_TTL_MS / 1000, ctx.secureCookies));
      return { account: { id: viewer.accountId, email: viewer.email, name: viewer.name } };
    },
  }),
  signOut: t.field({
    type: SignOutPayload,
    resolve: async (_root, _args, ctx) => {
      if (ctx.viewer) await ctx.core.auth.signOut(ctx.viewer);
      ctx.setCookie(sessionCookie('', 0, ctx.secureCookies));
      return { ok: true };
    },
  }),
}));
