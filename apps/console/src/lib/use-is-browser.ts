import { useSyncExternalStore } from 'react';

const noop = () => () => {};

/** False while server rendering and hydrating, true afterwards: gates browser-only data fetching. */
export function useIsBrowser(): boolean {
  return useSyncExternalStore(noop, () => true, () => false);
}
