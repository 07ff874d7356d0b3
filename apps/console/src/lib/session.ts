import type { CombinedError } from 'urql';

/** The server answers an unauthenticated request with HTTP 401 and `extensions.code: UNAUTHENTICATED`. */
export function isUnauthenticated(error: CombinedError | undefined | null): boolean {
  if (!error) return false;
  if (error.response && (error.response as Response).status === 401) return true;
  return error.graphQLErrors.some((e) => e.extensions?.code === 'UNAUTHENTICATED');
}

/**
 * Only same-origin paths may be a post-sign-in destination; anything else (`//evil`, `https://…`,
 * `/\evil`) falls back to the overview, so a crafted link cannot send an admin elsewhere.
 */
export function safeNextPath(next: string | null | undefined): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return '/';
  if (next.startsWith('/sign-in')) return '/';
  return next;
}

let redirecting = false;

/** Leaves for the sign-in page, remembering where the admin was. A full load also drops cached data. */
export function redirectToSignIn(): void {
  if (typeof window === 'undefined' || redirecting) return;
  const { pathname, search } = window.location;
  if (pathname.startsWith('/sign-in')) return;
  redirecting = true;
  window.location.replace(`/sign-in?next=${encodeURIComponent(pathname + search)}`);
}
