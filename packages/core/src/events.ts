import { EventEmitter } from 'node:events';

/** In-process domain events: they only wake or invalidate; the database stays the source of truth. */
export interface CoreEvents {
  'policies.changed': { agentId: string };
  'agent.changed': { agentId: string };
  'member.changed': { agentId: string; memberId: string };
  'audit.committed': { maxSeq: number };
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
