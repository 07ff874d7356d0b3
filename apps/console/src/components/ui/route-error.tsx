'use client';

import { useEffect } from 'react';
import { ErrorPanel } from './error-panel';

/** Body of every route's error.tsx: names the page and the failure, offers a retry. */
export function RouteError({ what, error, retry }: { what: string; error: unknown; retry: () => void }) {
  useEffect(() => {
    console.error(error);
  }, [error]);
  return (
    <section className="page" data-testid="route-error">
      <ErrorPanel title={`Could not show ${what}`} error={error} onRetry={retry}>
        <p className="muted">
          If the Wicket server was restarted, retrying usually helps. If this keeps happening, the server log names the cause.
        </p>
      </ErrorPanel>
    </section>
  );
}
