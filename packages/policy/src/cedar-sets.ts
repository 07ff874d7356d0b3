import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import type { PolicyContent } from './content.ts';

/** One policy compiled for one namespace; shared by every agent revision in which it is unchanged. */
export interface Compiled {
  /** Identifies this exact text: equal serials, equal Cedar policy (id included). */
  serial: number;
  text: string | null;
  error: string | null;
  /** Validated, normalised content (null when invalid). */
  content: PolicyContent | null;
}

/** A pre-parsed Cedar policy set and what its policies read from the request context. */
export interface CedarSet {
  /** Null when no policy of the set could be parsed. */
  id: string | null;
  /** Policies Cedar could not take (invalid content or text), with the reason. */
  broken: Map<string, string>;
  needsTime: boolean;
  needsIp: boolean;
  args: string[];
  /**
   * The same set without its forbids, built on first need: when a forbid matches, Cedar reports only the
   * forbids, and this set tells which permits matched too (spec: a decision names every matching policy).
   */
  permits: CedarSet | null | undefined;
  hasForbids: boolean;
  hasPermits: boolean;
  members: { id: string; compiled: Compiled }[];
  fingerprint: string;
  refs: number;
}

// Cedar keeps pre-parsed policy sets in a map inside the wasm module with no way to delete one, so ids
// are recycled: a released set is overwritten with an empty one and its id reused.
let idCounter = 0;
const freeIds: string[] = [];

function preparse(policies: Record<string, string>): { id: string } | { error: string } {
  const id = freeIds.pop() ?? `wicket-${++idCounter}`;
  const answer = cedar.preparsePolicySet(id, { staticPolicies: policies });
  if (answer.type === 'success') return { id };
  freeIds.push(id);
  return { error: answer.errors.map((e) => e.message).join('; ') };
}

function texts(members: { id: string; compiled: Compiled }[]): Record<string, string> {
  return Object.fromEntries(members.map((m) => [m.id, m.compiled.text!]));
}

/**
 * Pre-parsed sets shared by content: after an agent's revision changes, a (service, tool, member) slice
 * whose policies are all unchanged reuses its set instead of parsing again (about 100 µs per policy).
 */
export class CedarSetRegistry {
  private readonly sets = new Map<string, CedarSet>();

  acquire(members: { id: string; compiled: Compiled }[]): CedarSet {
    const fingerprint = members.map((m) => m.compiled.serial).join(',');
    let set = this.sets.get(fingerprint);
    if (!set) {
      set = build(members, fingerprint);
      this.sets.set(fingerprint, set);
    }
    set.refs++;
    return set;
  }

  /** The set's permits alone, or null when it has none. */
  permitsOf(set: CedarSet): CedarSet | null {
    if (set.permits === undefined) {
      set.permits = set.hasPermits ? this.acquire(set.members.filter((m) => m.compiled.content?.effect === 'permit')) : null;
    }
    return set.permits;
  }

  release(set: CedarSet): void {
    if (--set.refs > 0) return;
    if (set.permits) this.release(set.permits);
    this.sets.delete(set.fingerprint);
    if (set.id) {
      cedar.preparsePolicySet(set.id, { staticPolicies: {} });
      freeIds.push(set.id);
    }
  }
}

function build(members: { id: string; compiled: Compiled }[], fingerprint: string): CedarSet {
  const broken = new Map<string, string>();
  let usable = members.filter((m) => {
    if (!m.compiled.text) broken.set(m.id, m.compiled.error ?? 'not compiled');
    return !!m.compiled.text;
  });
  let id: string | null = null;
  if (usable.length) {
    let result = preparse(texts(usable));
    if ('error' in result) {
      // Set aside the policies Cedar refuses and keep the others.
      for (const m of usable) {
        const check = cedar.checkParsePolicySet({ staticPolicies: { [m.id]: m.compiled.text! } });
        if (check.type === 'failure') broken.set(m.id, check.errors.map((e) => e.message).join('; '));
      }
      usable = usable.filter((m) => !broken.has(m.id));
      result = usable.length ? preparse(texts(usable)) : { error: '' };
      if ('error' in result) {
        for (const m of usable) broken.set(m.id, result.error);
        usable = [];
      }
    }
    if ('id' in result) id = result.id;
  }
  const contents = usable.map((m) => m.compiled.content!);
  return {
    id,
    broken,
    needsTime: contents.some((c) => !!c.timeWindow),
    needsIp: contents.some((c) => !!c.callerIps?.length),
    args: [...new Set(contents.flatMap((c) => (c.conditions ?? []).map((cond) => cond.key)))],
    permits: undefined,
    hasForbids: contents.some((c) => c.effect === 'forbid'),
    hasPermits: contents.some((c) => c.effect === 'permit'),
    members: usable,
    fingerprint,
    refs: 0,
  };
}
