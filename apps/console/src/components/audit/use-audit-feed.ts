'use client';

import { print } from 'graphql';
import type { ExecutionResult } from 'graphql-ws';
import { useCallback, useEffect, useLayoutEffect, useReducer, useRef, useState } from 'react';
import { CombinedError, useClient } from 'urql';
import type { AuditFilterInput } from '@/lib/audit-filter';
import { useConsoleClients } from '@/lib/providers';
import { redirectToSignIn } from '@/lib/session';
import { AuditList_Entries, AuditList_EntryAdded, AuditList_Refresh, type AuditEdge, type AuditEntry } from './audit-operations';

const PAGE_SIZE = 100;
/** Live entries arriving in a burst are applied together, at most this often. */
const FLUSH_MS = 150;
/**
 * A forwarded call is streamed as soon as its entry is committed, before the upstream answered; its
 * outcome (duration, upstream status) is recorded afterwards. Such rows are asked again by id this often,
 * at most REFRESH_BATCH at a time, until the outcome is there or REFRESH_GIVE_UP_MS have passed (past the
 * upstream timeout, an outcome is no longer coming).
 */
const REFRESH_MS = 1000;
const REFRESH_BATCH = 100;
const REFRESH_GIVE_UP_MS = 60_000;

/** An ALLOW entry without a duration: its call was forwarded and has not been answered yet. */
function awaitsOutcome(entry: AuditEntry): boolean {
  return entry.decision === 'ALLOW' && entry.durationMs == null;
}

interface FeedState {
  status: 'loading' | 'ready' | 'error';
  entries: AuditEntry[];
  /** Entries received while paused, newest first; shown as a count until resumed. */
  pending: AuditEntry[];
  endCursor: string | null;
  hasNextPage: boolean;
  loadingMore: boolean;
  error: CombinedError | null;
  liveError: string | null;
}

type Action =
  | { type: 'reset' }
  | { type: 'firstPage'; entries: AuditEntry[]; endCursor: string | null; hasNextPage: boolean }
  | { type: 'loadMoreStart' }
  | { type: 'nextPage'; entries: AuditEntry[]; endCursor: string | null; hasNextPage: boolean }
  | { type: 'failed'; error: CombinedError }
  | { type: 'live'; entries: AuditEntry[]; paused: boolean }
  | { type: 'resume' }
  | { type: 'outcomes'; entries: AuditEntry[] }
  | { type: 'liveError'; message: string | null };

const initialState: FeedState = {
  status: 'loading',
  entries: [],
  pending: [],
  endCursor: null,
  hasNextPage: false,
  loadingMore: false,
  error: null,
  liveError: null,
};

/** Newest first: timestamp, then id, descending (spec §6), so ties never reorder. */
function isNewer(a: AuditEntry, b: AuditEntry): boolean {
  if (a.timestamp !== b.timestamp) return Date.parse(a.timestamp) > Date.parse(b.timestamp);
  return a.id > b.id;
}

/** Puts live entries at their place near the top; they are almost always newer than everything. */
function mergeNewest(list: AuditEntry[], incoming: AuditEntry[]): AuditEntry[] {
  if (!incoming.length) return list;
  const fresh = incoming.slice().sort((a, b) => (isNewer(a, b) ? -1 : 1));
  if (!list.length || isNewer(fresh[fresh.length - 1], list[0])) return fresh.concat(list);
  const result = list.slice();
  for (const entry of fresh.reverse()) {
    let index = 0;
    while (index < result.length && isNewer(result[index], entry)) index += 1;
    result.splice(index, 0, entry);
  }
  return result;
}

function reducer(state: FeedState, action: Action): FeedState {
  switch (action.type) {
    case 'reset':
      return initialState;
    case 'firstPage':
      return { ...initialState, status: 'ready', entries: action.entries, endCursor: action.endCursor, hasNextPage: action.hasNextPage };
    case 'loadMoreStart':
      return { ...state, loadingMore: true };
    case 'nextPage':
      return {
        ...state,
        loadingMore: false,
        entries: state.entries.concat(action.entries),
        endCursor: action.endCursor,
        hasNextPage: action.hasNextPage,
      };
    case 'failed':
      return state.status === 'loading' ? { ...state, status: 'error', error: action.error } : { ...state, loadingMore: false, error: action.error };
    case 'live':
      return action.paused
        ? { ...state, pending: mergeNewest(state.pending, action.entries) }
        : { ...state, entries: mergeNewest(state.entries, action.entries) };
    case 'resume':
      return state.pending.length ? { ...state, entries: mergeNewest(state.entries, state.pending), pending: [] } : state;
    case 'outcomes': {
      const fresh = new Map(action.entries.map((e) => [e.id, e]));
      const patch = (list: AuditEntry[]) => (list.some((e) => fresh.has(e.id)) ? list.map((e) => fresh.get(e.id) ?? e) : list);
      return { ...state, entries: patch(state.entries), pending: patch(state.pending) };
    }
    case 'liveError':
      return { ...state, liveError: action.message };
  }
}

function isAuthError(errors: readonly { extensions?: Record<string, unknown> }[] | undefined): boolean {
  return Boolean(errors?.some((e) => e.extensions?.code === 'UNAUTHENTICATED'));
}

/**
 * The audit list: keyset pages of history (`auditEntries(filter, first, after)`, never offsets), plus
 * the live stream `auditEntryAdded(filter, after)` with the same filter, started from the newest cursor
 * of the list so that nothing between the first page and the stream is missed. Every entry is kept
 * once (by id), whichever way it arrived.
 */
export function useAuditFeed({ filter, filterKey, enabled, paused }: { filter: AuditFilterInput; filterKey: string; enabled: boolean; paused: boolean }) {
  const client = useClient();
  const { ws } = useConsoleClients();
  const [state, dispatch] = useReducer(reducer, initialState);
  // Bumped by restart(): after the stream ended with an error, start over from a fresh first page.
  const [epoch, setEpoch] = useState(0);

  const generation = useRef(0);
  const seenIds = useRef(new Set<string>());
  const pausedRef = useRef(paused);
  const filterRef = useRef(filter);
  const endCursorRef = useRef<string | null>(null);
  const loadingMoreRef = useRef(false);

  useEffect(() => {
    pausedRef.current = paused;
    if (!paused) dispatch({ type: 'resume' });
  }, [paused]);

  // A layout effect: the first page is asked for before the browser paints the new filter, not a frame
  // after (a filter change is a transition, and passive effects wait for the paint).
  useLayoutEffect(() => {
    if (!enabled) return;
    const current = ++generation.current;
    seenIds.current = new Set();
    filterRef.current = filter;
    endCursorRef.current = null;
    loadingMoreRef.current = false;
    dispatch({ type: 'reset' });

    let disposeStream: (() => void) | null = null;
    let queue: AuditEntry[] = [];
    let flushTimer: ReturnType<typeof setTimeout> | null = null;
    // Live rows waiting for their outcome: id → when first seen.
    const awaiting = new Map<string, number>();
    let refreshTimer: ReturnType<typeof setTimeout> | null = null;
    const refresh = () => {
      refreshTimer = null;
      if (current !== generation.current) return;
      const now = Date.now();
      for (const [id, since] of awaiting) if (now - since > REFRESH_GIVE_UP_MS) awaiting.delete(id);
      const ids = [...awaiting.keys()].slice(0, REFRESH_BATCH);
      if (!ids.length) return;
      void client
        .query(AuditList_Refresh, { ids }, { requestPolicy: 'network-only' })
        .toPromise()
        .then((result) => {
          if (current !== generation.current) return;
          const done = (result.data?.auditEntriesByIds ?? []).filter((e) => !awaitsOutcome(e));
          for (const e of done) awaiting.delete(e.id);
          if (done.length) dispatch({ type: 'outcomes', entries: done });
          if (awaiting.size) refreshTimer ??= setTimeout(refresh, REFRESH_MS);
        });
    };
    const flush = () => {
      flushTimer = null;
      if (current !== generation.current || !queue.length) return;
      dispatch({ type: 'live', entries: queue, paused: pausedRef.current });
      for (const entry of queue) if (awaitsOutcome(entry)) awaiting.set(entry.id, Date.now());
      if (awaiting.size) refreshTimer ??= setTimeout(refresh, REFRESH_MS);
      queue = [];
    };

    const startStream = (after: string | null) => {
      if (!ws) return;
      // graphql-ws re-sends this very payload object when it reconnects, so keeping `after` at the
      // newest cursor seen makes a reconnect resume exactly where the stream left off.
      const payload = { query: print(AuditList_EntryAdded), operationName: 'AuditList_EntryAdded', variables: { filter, after } };
      let newest: AuditEntry | null = null;
      disposeStream = ws.subscribe<{ auditEntryAdded: AuditEdge }>(payload, {
        next: (result: ExecutionResult<{ auditEntryAdded: AuditEdge }>) => {
          if (current !== generation.current) return;
          if (result.errors?.length) {
            if (isAuthError(result.errors as never)) redirectToSignIn();
            dispatch({ type: 'liveError', message: result.errors.map((e) => e.message).join(' ') });
            return;
          }
          const edge = result.data?.auditEntryAdded;
          if (!edge) return;
          if (!newest || isNewer(edge.node, newest)) {
            newest = edge.node;
            payload.variables = { filter, after: edge.cursor };
          }
          if (seenIds.current.has(edge.node.id)) return;
          seenIds.current.add(edge.node.id);
          queue.push(edge.node);
          flushTimer ??= setTimeout(flush, FLUSH_MS);
        },
        error: (error: unknown) => {
          if (current !== generation.current) return;
          const errors = Array.isArray(error) ? (error as { message: string; extensions?: Record<string, unknown> }[]) : null;
          if (errors && isAuthError(errors)) redirectToSignIn();
          const message = errors
            ? errors.map((e) => e.message).join(' ')
            : error instanceof Error
              ? error.message
              : 'The live connection closed.';
          dispatch({ type: 'liveError', message });
        },
        complete: () => {},
      });
    };

    client
      .query(AuditList_Entries, { filter, first: PAGE_SIZE }, { requestPolicy: 'network-only' })
      .toPromise()
      .then((result) => {
        if (current !== generation.current) return;
        if (result.error || !result.data) {
          dispatch({ type: 'failed', error: result.error ?? new CombinedError({ networkError: new Error('No data in the response.') }) });
          return;
        }
        const { edges, pageInfo } = result.data.auditEntries;
        const entries = edges.map((edge) => edge.node).filter((node) => !seenIds.current.has(node.id));
        for (const entry of entries) seenIds.current.add(entry.id);
        endCursorRef.current = pageInfo.endCursor ?? null;
        dispatch({ type: 'firstPage', entries, endCursor: pageInfo.endCursor ?? null, hasNextPage: pageInfo.hasNextPage });
        startStream(edges[0]?.cursor ?? null);
      });

    return () => {
      generation.current += 1;
      if (flushTimer) clearTimeout(flushTimer);
      if (refreshTimer) clearTimeout(refreshTimer);
      disposeStream?.();
    };
    // The filter object is rebuilt on each render; its serialised key decides when to start over.
  }, [client, ws, filterKey, enabled, epoch]);

  const loadMore = useCallback(() => {
    const after = endCursorRef.current;
    if (!after || loadingMoreRef.current) return;
    loadingMoreRef.current = true;
    const current = generation.current;
    dispatch({ type: 'loadMoreStart' });
    client
      .query(AuditList_Entries, { filter: filterRef.current, first: PAGE_SIZE, after }, { requestPolicy: 'network-only' })
      .toPromise()
      .then((result) => {
        if (current !== generation.current) return;
        loadingMoreRef.current = false;
        if (result.error || !result.data) {
          dispatch({ type: 'failed', error: result.error ?? new CombinedError({ networkError: new Error('No data in the response.') }) });
          return;
        }
        const { edges, pageInfo } = result.data.auditEntries;
        const entries = edges.map((edge) => edge.node).filter((node) => !seenIds.current.has(node.id));
        for (const entry of entries) seenIds.current.add(entry.id);
        endCursorRef.current = pageInfo.endCursor ?? null;
        dispatch({ type: 'nextPage', entries, endCursor: pageInfo.endCursor ?? null, hasNextPage: pageInfo.hasNextPage });
      });
  }, [client]);

  const restart = useCallback(() => setEpoch((n) => n + 1), []);

  return { ...state, loadMore, restart };
}
