/** Helpers shared by the benchmarks: percentiles and a one-line summary of a PostgreSQL plan. */

export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Shared Hit Blocks'?: number;
  'Shared Read Blocks'?: number;
  'Actual Rows'?: number;
  Plans?: PlanNode[];
}

export interface PlanSummary {
  /** Node types from the top, children in parentheses, e.g. `Limit > Index Scan(audit_entries_ts_idx)`. */
  shape: string;
  seqScanOnEntries: boolean;
  executionMs: number;
  sharedHit: number;
  sharedRead: number;
}

// Short names keep a plan on one line: the table name is implied by the index name.
const SHORT: Record<string, string> = {
  'Index Scan': 'IndexScan',
  'Index Only Scan': 'IndexOnlyScan',
  'Bitmap Heap Scan': 'BitmapHeap',
  'Bitmap Index Scan': 'BitmapIndex',
  'Seq Scan': 'SeqScan',
  'Nested Loop': 'NestedLoop',
  'Hash Join': 'HashJoin',
  'Merge Join': 'MergeJoin',
  'Incremental Sort': 'IncrSort',
};

function describeNode(node: PlanNode): string {
  const type = SHORT[node['Node Type']] ?? node['Node Type'];
  const target = node['Index Name'] ?? (node['Node Type'] === 'Seq Scan' || node['Node Type'] === 'Bitmap Heap Scan' ? node['Relation Name'] : undefined);
  const label = target ? `${type}[${target.replace(/^audit_entries_/, '')}]` : type;
  const children = (node.Plans ?? []).map(describeNode);
  if (children.length === 0) return label;
  if (children.length === 1) return `${label} > ${children[0]}`;
  return `${label}(${children.join(', ')})`;
}

function anySeqScanOnEntries(node: PlanNode): boolean {
  if (node['Node Type'] === 'Seq Scan' && node['Relation Name'] === 'audit_entries') return true;
  return (node.Plans ?? []).some(anySeqScanOnEntries);
}

/** Summary of `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)` output. */
export function planSummary(json: unknown): PlanSummary {
  const top = (Array.isArray(json) ? json[0] : json) as { Plan: PlanNode; 'Execution Time': number };
  return {
    shape: describeNode(top.Plan),
    seqScanOnEntries: anySeqScanOnEntries(top.Plan),
    executionMs: top['Execution Time'],
    sharedHit: top.Plan['Shared Hit Blocks'] ?? 0,
    sharedRead: top.Plan['Shared Read Blocks'] ?? 0,
  };
}
