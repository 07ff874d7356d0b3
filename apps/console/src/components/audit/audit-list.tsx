'use client';

import { useVirtualizer } from '@tanstack/react-virtual';
import { memo, useCallback, useEffect, useLayoutEffect, useRef, useState, type KeyboardEvent } from 'react';
import type { CombinedError } from 'urql';
import { formatDuration, formatTimestamp } from '@/lib/format';
import { DecisionBadge } from '@/components/ui/badges';
import { describeError } from '@/lib/errors';
import type { AuditEntry } from './audit-operations';
import { AuditRowDetail } from './audit-row-detail';

const ROW_HEIGHT = 40;
const EXPANDED_ESTIMATE = 360;
/** Start fetching the next page this many rows before the end is reached. */
const PREFETCH_ROWS = 30;

function decidingPolicy(entry: AuditEntry) {
  return entry.matchedPolicies.find((p) => p.id === entry.policyId) ?? entry.matchedPolicies[0] ?? null;
}

/**
 * The virtualised audit list: only the rows in view (plus a few) are in the DOM, so 100,000 loaded
 * entries cost no more to draw than 30. Keyboard: j/k or arrows move, Enter/Space expands, Escape
 * collapses, Home/End jump.
 */
export function AuditList({
  entries,
  hasNextPage,
  loadingMore,
  loadError,
  onLoadMore,
  onScope,
}: {
  entries: AuditEntry[];
  hasNextPage: boolean;
  loadingMore: boolean;
  loadError: CombinedError | null;
  onLoadMore: () => void;
  onScope: (changes: { member?: string; policy?: string }) => void;
}) {
  const scrollRef = useRef<HTMLDivElement>(null);
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(() => new Set());
  const [activeId, setActiveId] = useState<string | null>(null);
  const count = entries.length + 1; // the last row says whether more history is loading or it is the end

  // Stable identities: the virtualiser recomputes every row's offset (O(rows loaded)) whenever
  // getItemKey changes, which on each scroll frame would cost milliseconds with 100,000 rows.
  const getItemKey = useCallback((index: number) => (index < entries.length ? entries[index].id : '__footer__'), [entries]);
  const estimateSize = useCallback(
    (index: number) => (index < entries.length && expanded.has(entries[index].id) ? EXPANDED_ESTIMATE : ROW_HEIGHT),
    [entries, expanded],
  );
  const getScrollElement = useCallback(() => scrollRef.current, []);
  const virtualizer = useVirtualizer({ count, getScrollElement, estimateSize, getItemKey, overscan: 12 });
  const items = virtualizer.getVirtualItems();
  const lastIndex = items.length ? items[items.length - 1].index : 0;

  useEffect(() => {
    if (hasNextPage && !loadingMore && !loadError && lastIndex >= entries.length - PREFETCH_ROWS) onLoadMore();
  }, [lastIndex, entries.length, hasNextPage, loadingMore, loadError, onLoadMore]);

  // Live rows are prepended. When the admin has scrolled down to read, keep what they read in place.
  const previousFirst = useRef<string | null>(null);
  useLayoutEffect(() => {
    const first = entries[0]?.id ?? null;
    const before = previousFirst.current;
    previousFirst.current = first;
    const element = scrollRef.current;
    if (!element || !before || first === before || element.scrollTop === 0) return;
    const shifted = entries.findIndex((e) => e.id === before);
    if (shifted > 0) element.scrollTop += shifted * ROW_HEIGHT;
  }, [entries]);

  const toggle = useCallback(
    (id: string) =>
      setExpanded((current) => {
        const next = new Set(current);
        if (next.has(id)) next.delete(id);
        else next.add(id);
        return next;
      }),
    [],
  );
  const activate = useCallback((id: string) => {
    setActiveId(id);
    toggle(id);
  }, [toggle]);
  // The parent's callback changes identity with its renders; rows keep one that calls the latest.
  const onScopeRef = useRef(onScope);
  onScopeRef.current = onScope;
  const scope = useCallback((changes: { member?: string; policy?: string }) => onScopeRef.current(changes), []);

  const moveTo = (index: number) => {
    if (!entries.length) return;
    const clamped = Math.max(0, Math.min(entries.length - 1, index));
    setActiveId(entries[clamped].id);
    virtualizer.scrollToIndex(clamped, { align: 'auto' });
  };

  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    const target = event.target as HTMLElement;
    if (target.closest('input, select, textarea')) return;
    const activeIndex = activeId ? entries.findIndex((e) => e.id === activeId) : -1;
    const onList = target === event.currentTarget;
    switch (event.key) {
      case 'j':
      case 'ArrowDown':
        event.preventDefault();
        moveTo(activeIndex + 1);
        break;
      case 'k':
      case 'ArrowUp':
        event.preventDefault();
        moveTo(activeIndex - 1);
        break;
      case 'Home':
        event.preventDefault();
        moveTo(0);
        break;
      case 'End':
        event.preventDefault();
        moveTo(entries.length - 1);
        break;
      case 'Enter':
      case ' ':
        if (!onList || activeIndex < 0) return;
        event.preventDefault();
        toggle(entries[activeIndex].id);
        break;
      case 'Escape':
        if (activeId && expanded.has(activeId)) {
          event.preventDefault();
          toggle(activeId);
        }
        break;
    }
  };

  return (
    <div className="audit-table" data-testid="audit-list" data-count={entries.length}>
      <div className="audit-row audit-head" role="presentation">
        <span>Time</span>
        <span>Member</span>
        <span>Tool</span>
        <span>Service</span>
        <span>Decision</span>
        <span>Matched policy</span>
        <span className="num">Duration</span>
        <span />
      </div>
      <div
        ref={scrollRef}
        className="audit-scroll"
        tabIndex={0}
        role="list"
        aria-label="Audit entries, newest first. Use j and k or the arrow keys to move, Enter to expand."
        data-testid="audit-scroll"
        onKeyDown={onKeyDown}
        onFocus={(event) => {
          if (event.target === event.currentTarget && !activeId && entries.length) setActiveId(entries[0].id);
        }}
      >
        <div style={{ height: virtualizer.getTotalSize(), position: 'relative', width: '100%' }}>
          {items.map((item) => {
            if (item.index >= entries.length) {
              return (
                <div
                  key={item.key}
                  data-index={item.index}
                  ref={virtualizer.measureElement}
                  className="audit-footer"
                  style={{ position: 'absolute', top: 0, left: 0, width: '100%', transform: `translateY(${item.start}px)` }}
                >
                  {loadError ? (
                    <span className="field-error" data-testid="audit-load-error">
                      Could not load older entries: {describeError(loadError)}{' '}
                      <button type="button" className="btn btn-sm" onClick={onLoadMore} data-testid="audit-load-retry">
                        Retry
                      </button>
                    </span>
                  ) : hasNextPage || loadingMore ? (
                    <span className="muted" data-testid="audit-loading-more">
                      Loading older entries…
                    </span>
                  ) : (
                    <span className="muted" data-testid="audit-end">
                      {entries.length ? `End of history: ${entries.length.toLocaleString()} entries.` : ''}
                    </span>
                  )}
                </div>
              );
            }
            const entry = entries[item.index];
            return (
              <div
                key={item.key}
                data-index={item.index}
                ref={virtualizer.measureElement}
                role="listitem"
                className="audit-item"
                data-testid="audit-row"
                data-entry-id={entry.id}
                data-decision={entry.decision}
                data-active={entry.id === activeId || undefined}
                data-expanded={expanded.has(entry.id) || undefined}
                style={{ position: 'absolute', top: 0, left: 0, width: '100%', transform: `translateY(${item.start}px)` }}
              >
                <AuditRowContent entry={entry} isExpanded={expanded.has(entry.id)} onActivate={activate} onScope={scope} />
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
}

/**
 * A row's cells and detail. Memoised: while scrolling, the virtualiser re-renders the list on every
 * frame to move rows; only rows that come into view (or change) render their content.
 */
const AuditRowContent = memo(function AuditRowContent({
  entry,
  isExpanded,
  onActivate,
  onScope,
}: {
  entry: AuditEntry;
  isExpanded: boolean;
  onActivate: (id: string) => void;
  onScope: (changes: { member?: string; policy?: string }) => void;
}) {
  const policy = decidingPolicy(entry);
  return (
    <>
      <div
        className="audit-row"
        onClick={(event) => {
          if ((event.target as HTMLElement).closest('a, button')) return;
          onActivate(entry.id);
        }}
      >
        <time dateTime={entry.timestamp} title={entry.timestamp} data-testid="audit-cell-time">
          {formatTimestamp(entry.timestamp)}
        </time>
        <span className="cell-ellipsis" data-testid="audit-cell-member">
          {entry.memberId ? (
            <button
              type="button"
              className="link-button"
              title="Show only this member's calls"
              onClick={() => entry.memberId && onScope({ member: entry.memberId })}
              data-testid="audit-member-link"
            >
              {entry.memberName}
            </button>
          ) : (
            entry.memberName || '—'
          )}
        </span>
        <span className="cell-ellipsis mono" data-testid="audit-cell-tool" title={entry.tool}>
          {entry.tool}
        </span>
        <span className="cell-ellipsis" data-testid="audit-cell-service">
          {entry.service}
        </span>
        <span>
          <DecisionBadge decision={entry.decision} testId="audit-cell-decision" />
        </span>
        <span className="cell-ellipsis" data-testid="audit-cell-policy">
          {policy ? (
            <button
              type="button"
              className="link-button"
              title="Show only calls this policy matched"
              onClick={() => onScope({ policy: policy.id })}
              data-testid="audit-policy-link"
              data-policy-id={policy.id}
            >
              {policy.name}
              {entry.matchedPolicies.length > 1 ? <span className="muted"> +{entry.matchedPolicies.length - 1}</span> : null}
            </button>
          ) : (
            <span className="muted">{entry.matchedPolicyNames[0] ?? '—'}</span>
          )}
        </span>
        <span className="num" data-testid="audit-cell-duration">
          {formatDuration(entry.durationMs)}
        </span>
        <button
          type="button"
          className="btn btn-ghost btn-sm expand-button"
          aria-expanded={isExpanded}
          aria-label={isExpanded ? 'Collapse entry' : 'Expand entry'}
          onClick={() => onActivate(entry.id)}
          data-testid="audit-row-toggle"
        >
          {isExpanded ? '▾' : '▸'}
        </button>
      </div>
      {isExpanded ? <AuditRowDetail entry={entry} onScopePolicy={(policyId) => onScope({ policy: policyId })} /> : null}
    </>
  );
});
