import { describe, expect, it, vi } from 'vitest';
import { PolicyEngine } from './engine.ts';
import { agentPolicies, makePolicy, makeRequest } from './test-fixtures.ts';

// Replaces the guarded text of policies named "unguarded" with a condition that errors when the argument
// is missing, to exercise the engine's own net under the guards: Cedar skips an erroring policy.
vi.mock('./cedar-text.ts', async (importOriginal) => {
  const original = await importOriginal<typeof import('./cedar-text.ts')>();
  return {
    ...original,
    compilePolicyToCedar: (input: Parameters<typeof original.compilePolicyToCedar>[0]) =>
      input.content.name === 'unguarded'
        ? `${input.content.effect} (principal, action, resource) when { context.args["path"] == "x" };`
        : original.compilePolicyToCedar(input),
  };
});

describe('safety net under the guards', () => {
  const engine = new PolicyEngine();
  const unguarded = (effect: 'permit' | 'forbid') => makePolicy({ name: 'unguarded', effect, conditions: [{ key: 'path', op: 'eq', value: 'x' }] });

  it('a forbid whose condition errors counts as matching and denies', () => {
    const permit = makePolicy({});
    const forbid = unguarded('forbid');
    const d = engine.decide(agentPolicies([permit, forbid]), makeRequest({ arguments: {} }));
    expect(d).toMatchObject({ decision: 'DENY', rule: 'forbid', deciding: { id: forbid.id } });
    expect(d.reason).toMatch(/could not be evaluated/);
    expect(d.matched.map((m) => m.id)).toEqual([permit.id, forbid.id]);
    expect(d.errors?.map((e) => e.policyId)).toEqual([forbid.id]);
  });

  it('a permit whose condition errors does not match', () => {
    const d = engine.decide(agentPolicies([unguarded('permit')]), makeRequest({ arguments: {} }));
    expect(d).toMatchObject({ decision: 'DENY', rule: 'no_permit', matched: [] });
    expect(d.errors).toHaveLength(1);
  });

  it('a forbid that matched cleanly decides before one that errored', () => {
    const errored = unguarded('forbid');
    const clean = makePolicy({ effect: 'forbid', denyMessage: 'clean' });
    const d = engine.decide(agentPolicies([errored, clean]), makeRequest({ arguments: {} }));
    expect(d.reason).toBe('clean');
    expect(d.matched.map((m) => m.id)).toEqual([errored.id, clean.id]);
  });
});
