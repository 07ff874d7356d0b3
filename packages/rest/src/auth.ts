import type { Context, MiddlewareHandler } from 'hono';
import { UnauthenticatedError, type Access, type Core } from '@wicket/core';

/** Hono environment of every REST route: the caller's Access, set by `authenticate` before any route runs. */
export interface RestEnv {
  Variables: { access: Access };
}

/**
 * API token (`Authorization: Bearer`) or console session cookie → the caller's Access. No credential, or
 * one that is unknown, revoked or expired, is a 401 before any parameter is looked at.
 */
export function authenticate(core: Core): MiddlewareHandler<RestEnv> {
  return async (c, next) => {
    const viewer = await core.auth.authenticate({ authorization: c.req.header('authorization'), cookie: c.req.header('cookie') });
    if (!viewer) throw new UnauthenticatedError();
    c.set('access', await core.access(viewer));
    await next();
  };
}

/** The caller's Access inside a route (what every core use case takes first). */
export function accessOf(c: Context<RestEnv>): Access {
  return c.get('access');
}
