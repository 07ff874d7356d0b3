'use client';

import { usePathname, useSearchParams } from 'next/navigation';
import { useCallback } from 'react';

/**
 * Reads and replaces query parameters of the current URL. Filters and paging live in the URL so that a
 * link reproduces the view and a reload keeps it; `replace` keeps typing out of the history.
 *
 * Through the native History API, which Next's router follows (useSearchParams, back/forward): a
 * filter change stays in the browser. router.replace would first fetch the page's server component
 * payload again (the pages are dynamic), a round trip to the console server on every change for
 * nothing, since every page reads its data in the browser.
 */
export function useUrlParams() {
  const pathname = usePathname();
  const searchParams = useSearchParams();

  const setParams = useCallback(
    (changes: Record<string, string | null | undefined>, { push = false }: { push?: boolean } = {}) => {
      // The live URL rather than the rendered one: a debounced change must not undo a newer one.
      const next = new URLSearchParams(window.location.search);
      for (const [key, value] of Object.entries(changes)) {
        if (value === null || value === undefined || value === '') next.delete(key);
        else next.set(key, value);
      }
      const query = next.toString();
      const href = query ? `${pathname}?${query}` : pathname;
      if (href === window.location.pathname + window.location.search) return;
      if (push) window.history.pushState(null, '', href);
      else window.history.replaceState(null, '', href);
    },
    [pathname],
  );

  return { searchParams, pathname, setParams };
}
