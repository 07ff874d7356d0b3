import { stringify } from 'csv-stringify/sync';
import type { AuditEntry } from '@wicket/core';

/** Spec §7: the export's columns, in this order. */
export const AUDIT_CSV_COLUMNS = ['timestamp', 'agent', 'member', 'tool', 'service', 'resource', 'decision', 'reason', 'duration', 'matched_policies'] as const;

/**
 * A spreadsheet runs a cell that starts with = + - @ (or tab / carriage return, which some strip first)
 * as a formula: a leading apostrophe makes it text (OWASP "CSV injection").
 */
export function neutralizeFormula(cell: string): string {
  return /^[=+\-@\t\r]/.test(cell) ? `'${cell}` : cell;
}

function toCsvRow(e: AuditEntry): string[] {
  return [
    e.timestamp.toISOString(),
    e.agentName,
    e.memberName,
    e.tool,
    e.service,
    e.resource,
    e.decision,
    e.reason,
    e.durationMs === null ? '' : String(e.durationMs),
    e.matchedPolicies.map((p) => `${p.name} (v${p.version})`).join('; '),
  ].map(neutralizeFormula);
}

/**
 * RFC 4180 via csv-stringify: header row, CRLF record ends, fields quoted when they hold a comma, a
 * quote or any line break (a bare LF inside a field is quoted too, which csv-stringify does not do on its
 * own with a CRLF record delimiter).
 */
export function auditEntriesToCsv(entries: AuditEntry[]): string {
  return stringify(entries.map(toCsvRow), {
    header: true,
    columns: [...AUDIT_CSV_COLUMNS],
    record_delimiter: 'windows',
    quoted_match: /[\r\n]/,
  });
}

/** `wicket-audit-YYYY-MM-DD.csv`, dated the day of the export (UTC). */
export function auditExportFileName(now: Date): string {
  return `wicket-audit-${now.toISOString().slice(0, 10)}.csv`;
}
