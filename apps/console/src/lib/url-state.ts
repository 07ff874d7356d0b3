'use client';

import { usePathname, useRouter, useSearchParams } from 'next/navigation';
import { useCallback } from 'react';

/**
 * Reads and replaces query parameters of the current URL. Filters and paging live in the URL so that a
 * link reproduces the view and a reload keeps it; `replace` keeps typing out of the history.
 */
export function useUrlParams() {
  const router = useRouter();
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
      if (push) router.push(href, { scroll: false });
      else router.replace(href, { scroll: false });
    },
    [router, pathname],
  );

  return { searchParams, pathname, setParams };
}
