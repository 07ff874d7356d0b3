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

/**
 * The text a set holds for a policy: its Cedar text with the effect written `permit`. Cedar reports only
 * the policies that determined its answer (the forbids when it denies), but a decision must name every
 * matching policy (spec §3). Whether a policy is satisfied does not depend on its effect, so with every
 * policy a permit one evaluation reports every satisfied policy, and the engine applies §3 (forbid wins)
 * to them, as it must anyway to fail closed on forbids that error.
 */
export function matchingText(text: string): string {
  // Annotation values never hold a raw line break (escaped), so the first line opening with the effect is the head.
  return text.replace(/^forbid \(/m, 'permit (');
}

function texts(members: { id: string; compiled: Compiled }[]): Record<string, string> {
  return Object.fromEntries(members.map((m) => [m.id, matchingText(m.compiled.text!)]));
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

  release(set: CedarSet): void {
    if (--set.refs > 0) return;
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
        const check = cedar.checkParsePolicySet({ staticPolicies: { [m.id]: matchingText(m.compiled.text!) } });
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
    fingerprint,
    refs: 0,
  };
}
