import { readdirSync, readFileSync } from 'node:fs';

/** Helpers shared by the benchmarks: percentiles, PostgreSQL's CPU time, and a one-line summary of a PostgreSQL plan. */

export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

/**
 * CPU time (ms) of every PostgreSQL server process on this machine, from /proc (Linux; NaN elsewhere), to
 * take differences of. A backend that exits takes its own CPU time out of the sum, but the postmaster
 * reaps it, and a reaped child's time is added to its parent's cutime/cstime: counting those too keeps the
 * sum from dropping when a backend (a pool's connection, another session's test run) ends mid-measurement.
 * CLK_TCK is 100 on Linux.
 */
export function postgresCpuMs(): number {
  try {
    let ticks = 0;
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const close = stat.lastIndexOf(')');
        if (stat.slice(stat.indexOf('(') + 1, close) !== 'postgres') continue;
        const fields = stat.slice(close + 2).split(' ');
        // utime, stime, cutime, cstime
        ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
      } catch {
        // the process ended meanwhile
      }
    }
    return ticks * 10;
  } catch {
    return NaN;
  }
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

/**
 * A V8 CPU profile of this process over chosen windows (BENCH_PROFILE=DIR in the benchmarks), through the
 * inspector: start() and stop(file) around the part to look at; open the file in Chrome DevTools.
 */
export async function startProfiler() {
  const { Session } = await import('node:inspector/promises');
  const { writeFileSync, mkdirSync } = await import('node:fs');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  return {
    start: () => session.post('Profiler.start'),
    async stop(file: string) {
      const { profile } = await session.post('Profiler.stop');
      mkdirSync(file.replace(/\/[^/]*$/, ''), { recursive: true });
      writeFileSync(file, JSON.stringify(profile));
    },
    close: async () => session.disconnect(),
  };
}
