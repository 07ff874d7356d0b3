'use client';

import Link from 'next/link';
import { usePathname } from 'next/navigation';
import type { ReactNode } from 'react';
import { useMutation, useQuery } from 'urql';
import { graphql } from '@/graphql';
import { NAV_ITEMS } from '@/lib/nav';
import { isUnauthenticated } from '@/lib/session';
import { useIsBrowser } from '@/lib/use-is-browser';
import { ErrorPanel } from '@/components/ui/error-panel';
import { LoadingRegion, SkeletonBlock, SkeletonLine } from '@/components/ui/skeleton';
import { ThemeToggle } from '@/components/ui/theme-toggle';
import { ViewerContext } from './viewer-context';

const ConsoleShell_Viewer = graphql(`
  query ConsoleShell_Viewer {
    viewer {
      account {
        id
        email
        name
      }
    }
  }
`);

const ConsoleShell_SignOut = graphql(`
  mutation ConsoleShell_SignOut {
    signOut {
      ok
    }
  }
`);

/**
 * The signed-in frame: navigation from NAV_ITEMS, the account, and the session check. The API is the
 * real gate; this check only decides whether to draw pages or send the admin to sign in (a 401 from
 * any request does the same, see lib/graphql-client.ts).
 */
export function ConsoleShell({ children }: { children: ReactNode }) {
  const isBrowser = useIsBrowser();
  const pathname = usePathname();
  const [{ data, error }, recheck] = useQuery({ query: ConsoleShell_Viewer, pause: !isBrowser });
  const [signOutState, signOut] = useMutation(ConsoleShell_SignOut);
  const account = data?.viewer.account ?? null;

  let main: ReactNode;
  if (account) {
    main = children;
  } else if (error && !isUnauthenticated(error)) {
    main = (
      <section className="page">
        <ErrorPanel title="Could not check your session" error={error} onRetry={() => recheck({ requestPolicy: 'network-only' })} />
      </section>
    );
  } else {
    main = (
      <LoadingRegion label={error ? 'Redirecting to sign in' : 'Checking your session'}>
        <section className="page" data-testid="session-checking">
          <SkeletonLine width="30%" height="1.75rem" />
          <SkeletonBlock height="12rem" />
        </section>
      </LoadingRegion>
    );
  }

  return (
    <div className="shell">
      <header className="topbar">
        <Link href="/" className="brand" data-testid="brand">
          <span className="brand-mark" aria-hidden="true">◧</span> Wicket
        </Link>
        <nav className="nav" aria-label="Main" data-testid="nav">
          {NAV_ITEMS.map((item) => (
            <Link
              key={item.href}
              href={item.href}
              data-testid={item.testId}
              aria-current={item.matches(pathname) ? 'page' : undefined}
            >
              {item.label}
            </Link>
          ))}
        </nav>
        <div className="topbar-end">
          <ThemeToggle />
          {account ? (
            <>
              <span className="muted small" data-testid="viewer-email" title={account.name}>
                {account.email}
              </span>
              <button
                type="button"
                className="btn btn-sm"
                disabled={signOutState.fetching}
                data-testid="sign-out"
                onClick={async () => {
                  await signOut({});
                  window.location.assign('/sign-in');
                }}
              >
                Sign out
              </button>
            </>
          ) : null}
        </div>
      </header>
      <ViewerContext.Provider value={account}>
        <main className="main" id="main">
          {main}
        </main>
      </ViewerContext.Provider>
    </div>
  );
}
