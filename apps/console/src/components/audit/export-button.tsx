'use client';

import { useRef, useState } from 'react';
import type { AuditFilterParams } from '@/lib/audit-filter';
import { EXPORT_MAX_ROWS, fetchAuditCsv, saveFile } from '@/lib/export-csv';
import { formatNumber } from '@/lib/format';
import { useApiUrl } from '@/lib/providers';

/** Exports the current filter as one CSV file (REST `/api/audit/export`, paged, up to 10,000 rows). */
export function ExportButton({ filter, disabled }: { filter: AuditFilterParams; disabled?: boolean }) {
  const apiUrl = useApiUrl();
  const [state, setState] = useState<{ kind: 'idle' | 'running' | 'done' | 'error'; message?: string; rows?: number }>({ kind: 'idle' });
  const abort = useRef<AbortController | null>(null);

  const run = async () => {
    abort.current = new AbortController();
    setState({ kind: 'running', rows: 0 });
    try {
      const result = await fetchAuditCsv(apiUrl, filter, {
        signal: abort.current.signal,
        onProgress: (rows) => setState({ kind: 'running', rows }),
      });
      saveFile(result.csv, result.filename);
      setState({
        kind: 'done',
        rows: result.rows,
        message: result.truncated
          ? `Exported the newest ${formatNumber(result.rows)} rows (the limit is ${formatNumber(EXPORT_MAX_ROWS)}). Narrow the time range to export the rest.`
          : `Exported ${formatNumber(result.rows)} rows.`,
      });
    } catch (error) {
      if ((error as Error).name === 'AbortError') setState({ kind: 'idle' });
      else setState({ kind: 'error', message: (error as Error).message });
    }
  };

  return (
    <div className="export" data-testid="audit-export-area">
      {state.kind === 'running' ? (
        <button type="button" className="btn btn-sm" onClick={() => abort.current?.abort()} data-testid="audit-export-cancel">
          Cancel export ({formatNumber(state.rows ?? 0)} rows)
        </button>
      ) : (
        <button type="button" className="btn btn-sm" onClick={run} disabled={disabled} data-testid="audit-export">
          Export CSV
        </button>
      )}
      {state.message ? (
        <span className={state.kind === 'error' ? 'field-error' : 'muted small'} role="status" data-testid="audit-export-status" data-state={state.kind}>
          {state.message}
        </span>
      ) : null}
    </div>
  );
}
