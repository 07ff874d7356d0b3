import type { Access, Core, Viewer } from '@wicket/core';

export interface GraphContext {
  core: Core;
  viewer: Viewer | null;
  /** The viewer's access, loaded once per operation; throws UnauthenticatedError without a viewer. */
  access(): Promise<Access>;
  /** Set-Cookie values the HTTP layer adds to the response (sign-in, sign-out). */
  setCookie(cookie: string): void;
  secureCookies: boolean;
  /** Aborted when the HTTP client goes away (SSE subscriptions end with it); absent over WebSocket. */
  signal?: AbortSignal;
}

/** One context factory for HTTP and WebSocket operations. */
export function createGraphContext(core: Core, viewer: Viewer | null, options: { setCookie?: (c: string) => void; secureCookies?: boolean; signal?: AbortSignal } = {}): GraphContext {
  let access: Promise<Access> | undefined;
  return {
    core,
    viewer,
    access: () => (access ??= core.access(viewer)),
    setCookie: options.setCookie ?? (() => {}),
    secureCookies: options.secureCookies ?? false,
    signal: options.signal,
  };
}
