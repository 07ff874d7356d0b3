import { filterToQueryString, type AuditFilterParams } from './audit-filter';
import { redirectToSignIn } from './session';

/** The REST export answers at most this many rows per request (spec §7). */
export const EXPORT_PAGE_ROWS = 500;
export const EXPORT_MAX_ROWS = 10_000;
/** Header names the server may use for the next page's offset; the first present wins. */
const NEXT_OFFSET_HEADERS = ['X-Next-Offset', 'X-Wicket-Next-Offset', 'Next-Offset'];

export interface ExportResult {
  csv: string;
  rows: number;
  truncated: boolean;
  filename: string;
}

/** Counts CSV records (RFC 4180: line breaks inside quoted cells do not end a record). */
export function countCsvRecords(text: string): number {
  let records = 0;
  let inQuotes = false;
  let sawContent = false;
  for (let i = 0; i < text.length; i += 1) {
    const ch = text[i];
    if (ch === '"') inQuotes = !inQuotes;
    else if (!inQuotes && (ch === '\n' || (ch === '\r' && text[i + 1] !== '\n'))) {
      records += 1;
      sawContent = false;
      continue;
    }
    if (ch !== '\r' && ch !== '\n') sawContent = true;
  }
  return records + (sawContent ? 1 : 0);
}

/** Removes the header record (the header has no quoted line breaks). */
export function stripHeader(text: string): string {
  const end = text.indexOf('\n');
  return end === -1 ? '' : text.slice(end + 1);
}

function readNextOffset(response: Response): number | null | undefined {
  for (const name of NEXT_OFFSET_HEADERS) {
    const value = response.headers.get(name);
    if (value === null) continue;
    if (value === '' || value === 'null') return null;
    const parsed = Number.parseInt(value, 10);
    return Number.isFinite(parsed) ? parsed : null;
  }
  return undefined;
}

function filenameFrom(response: Response): string | null {
  const disposition = response.headers.get('Content-Disposition');
  const match = disposition?.match(/filename\*?=(?:UTF-8'')?"?([^";]+)"?/i);
  return match ? decodeURIComponent(match[1]) : null;
}

async function errorMessage(response: Response): Promise<string> {
  try {
    const body = (await response.json()) as { error?: { message?: string; param?: string } };
    if (body.error?.message) return body.error.param ? `${body.error.message} (${body.error.param})` : body.error.message;
  } catch {
    // Not JSON: fall through to the status line.
  }
  return `The export failed with HTTP ${response.status}.`;
}

/**
 * Downloads the audit export for a filter by following the REST export's pages (500 rows each) up to
 * `maxRows`, and joins them into one CSV with a single header row. The next offset comes from the
 * response header; when a browser cannot read it (not exposed over CORS), a full page means "there
 * may be more" and the next offset is the current one plus the page's rows.
 */
export async function fetchAuditCsv(
  apiUrl: string,
  filter: AuditFilterParams,
  { maxRows = EXPORT_MAX_ROWS, onProgress, signal }: { maxRows?: number; onProgress?: (rows: number) => void; signal?: AbortSignal } = {},
): Promise<ExportResult> {
  const query = filterToQueryString(filter);
  let offset = 0;
  let rows = 0;
  let csv = '';
  let filename: string | null = null;
  let truncated = false;

  for (;;) {
    const params = new URLSearchParams(query);
    if (offset > 0) params.set('offset', String(offset));
    const url = `${apiUrl}/api/audit/export${params.size ? `?${params}` : ''}`;
    const response = await fetch(url, { credentials: 'include', signal, headers: { Accept: 'text/csv' } });
    if (response.status === 401) {
      redirectToSignIn();
      throw new Error('Your session has ended. Sign in again to export.');
    }
    if (!response.ok) throw new Error(await errorMessage(response));

    const text = await response.text();
    filename ??= filenameFrom(response);
    const pageRows = Math.max(countCsvRecords(text) - 1, 0);
    if (!csv) csv = text;
    else if (pageRows > 0) {
      if (!/\r?\n$/.test(csv)) csv += '\r\n';
      csv += stripHeader(text);
    }
    rows += pageRows;
    onProgress?.(rows);

    const headerOffset = readNextOffset(response);
    const nextOffset = headerOffset !== undefined ? headerOffset : pageRows >= EXPORT_PAGE_ROWS ? offset + pageRows : null;
    if (nextOffset === null || pageRows === 0) break;
    if (rows >= maxRows) {
      truncated = true;
      break;
    }
    offset = nextOffset;
  }

  return { csv, rows, truncated, filename: filename ?? `wicket-audit-${new Date().toISOString().slice(0, 10)}.csv` };
}

export function saveFile(content: string, filename: string, type = 'text/csv;charset=utf-8'): void {
  const url = URL.createObjectURL(new Blob([content], { type }));
  const anchor = document.createElement('a');
  anchor.href = url;
  anchor.download = filename;
  document.body.appendChild(anchor);
  anchor.click();
  anchor.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
