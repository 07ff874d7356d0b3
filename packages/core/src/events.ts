import { EventEmitter } from 'node:events';
import type { AuditEntryRow } from '@wicket/db';

/** In-process domain events: they only wake or invalidate; the database stays the source of truth. */
export interface CoreEvents {
  'policies.changed': { agentId: string };
  'agent.changed': { agentId: string };
  'member.changed': { agentId: string; memberId: string };
  'audit.committed': AuditCommitted;
}

/** One committed insert statement into audit_entries (it wakes the live stream's readers). */
export interface AuditCommitted {
  /** The largest seq of the statement: every smaller seq is final, so it is a head the readers may read to. */
  maxSeq: number;
  /**
   * The smallest seq of the statement, the agents of its rows and their members (by id). With all three,
   * readers whose filter and visibility match none of them skip the statement's seqs without a read;
   * without them every reader reads.
   */
  minSeq?: number;
  agentIds?: string[];
  memberIds?: string[];
  /**
   * Every row of the statement as stored (RETURNING *, as a read returns it), in any order. With them,
   * and minSeq, agentIds and memberIds, a pass over seqs that such statements cover entirely hands the
   * rows out without reading the table.
   */
  rows?: readonly AuditEntryRow[];
}

export class CoreEventBus {
  private readonly emitter = new EventEmitter();
  constructor() {
    this.emitter.setMaxListeners(0);
  }
  emit<K extends keyof CoreEvents>(name: K, payload: CoreEvents[K]): void {
    this.emitter.emit(name, payload);
  }
  on<K extends keyof CoreEvents>(name: K, fn: (payload: CoreEvents[K]) => void): () => void {
    this.emitter.on(name, fn);
    return () => this.emitter.off(name, fn);
  }
}

/** The event for an insert statement that committed: its seq range, its agents and members, its rows as stored. */
export function committedStatement(rows: readonly AuditEntryRow[]): AuditCommitted {
  const seqs = rows.map((r) => Number(r.seq));
  return {
    maxSeq: Math.max(...seqs),
    minSeq: Math.min(...seqs),
    agentIds: [...new Set(rows.map((r) => r.agent_id))],
    memberIds: [...new Set(rows.flatMap((r) => (r.member_id ? [r.member_id] : [])))],
    rows,
  };
}
