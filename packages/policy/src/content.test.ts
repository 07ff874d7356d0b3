import { describe, expect, it } from 'vitest';
import { derivePolicyKey, isValidServiceKey, parsePolicyContent, parseToolName, toolArgumentsNeeded } from './content.ts';
import { isValidCidr, normalizeCallerIp } from './ip.ts';

const valid = { name: 'No deletes', service: 'github', effect: 'forbid', tools: ['delete_file'], principal: { type: 'all_members' } };

function issues(input: unknown) {
  const result = parsePolicyContent(input);
  if (result.ok) throw new Error('expected issues');
  return Object.fromEntries(result.issues.map((i) => [i.field, i.message]));
}

describe('parsePolicyContent', () => {
  it('accepts minimal content and normalises it', () => {
    const result = parsePolicyContent({ ...valid, tools: undefined, name: '  No deletes ', timeWindow: {}, callerIps: [], conditions: [], denyMessage: '' });
    expect(result).toEqual({ ok: true, value: { name: 'No deletes', service: 'github', effect: 'forbid', tools: [], principal: { type: 'all_members' } } });
  });

  it('accepts every field', () => {
    const content = {
      ...valid,
      principal: { type: 'specific_members', memberIds: ['m1', 'm2'] },
      timeWindow: { daysOfWeek: [1, 5], hoursFrom: 22, hoursTo: 6, activeFrom: '2026-01-01', activeTo: '2026-12-31' },
      callerIps: ['10.0.0.0/8', '192.168.1.7', '2001:db8::/32', '::1'],
      conditions: [{ key: 'repo', op: 'startsWith', value: 'acme/' }],
      denyMessage: 'x'.repeat(500),
    };
    expect(parsePolicyContent(content)).toEqual({ ok: true, value: content });
  });

  it('names each missing field', () => {
    expect(issues({})).toEqual({ name: 'is required', service: 'is required', effect: 'is required', principal: 'is required' });
  });

  it('names nested fields with paths', () => {
    const found = issues({
      ...valid,
      service: 'Git__Hub',
      tools: ['a', 'a'],
      principal: { type: 'specific_members', memberIds: [] },
      timeWindow: { daysOfWeek: [7], hoursFrom: 24, hoursTo: 1.5, activeFrom: '2026-02-30' },
      callerIps: ['10.0.0.0/33', '::ffff:1.2.3.4', '010.0.0.1'],
      conditions: [{ key: '', op: 'like', value: 3 }],
      denyMessage: 'x'.repeat(501),
    });
    expect(Object.keys(found).sort()).toEqual(
      [
        'service',
        'tools',
        'principal.memberIds',
        'timeWindow.daysOfWeek[0]',
        'timeWindow.hoursFrom',
        'timeWindow.hoursTo',
        'timeWindow.activeFrom',
        'callerIps[0]',
        'callerIps[1]',
        'callerIps[2]',
        'conditions[0].key',
        'conditions[0].op',
        'conditions[0].value',
        'denyMessage',
      ].sort(),
    );
    expect(found['timeWindow.hoursFrom']).toBe('must be a whole hour from 0 to 23');
    expect(found.denyMessage).toBe('must be at most 500 characters');
  });

  it('refuses a deny message on a permit and a date range that ends before it starts', () => {
    expect(issues({ ...valid, effect: 'permit', denyMessage: 'nope' })).toEqual({ denyMessage: 'only a forbid policy can have a deny message' });
    expect(issues({ ...valid, timeWindow: { activeFrom: '2026-05-02', activeTo: '2026-05-01' } })).toEqual({ 'timeWindow.activeTo': 'must be on or after activeFrom' });
  });

  it('refuses an unknown principal type and a non-object', () => {
    expect(Object.keys(issues({ ...valid, principal: { type: 'everyone' } }))).toEqual(['principal.type']);
    expect(issues('policy')).toEqual({ '(content)': 'must be an object' });
  });

  it('lists the arguments conditions read', () => {
    expect(toolArgumentsNeeded({ conditions: [{ key: 'a', op: 'eq', value: '1' }, { key: 'a', op: 'neq', value: '2' }, { key: 'b', op: 'eq', value: '' }] })).toEqual(['a', 'b']);
    expect(toolArgumentsNeeded({})).toEqual([]);
  });
});

describe('parseToolName', () => {
  it('splits at the first double underscore', () => {
    expect(parseToolName('github__create_issue')).toEqual({ service: 'github', tool: 'create_issue' });
    expect(parseToolName('my-svc_2__list__all')).toEqual({ service: 'my-svc_2', tool: 'list__all' });
  });

  it('refuses names without a valid service prefix or tool', () => {
    for (const name of ['create_issue', '__x', 'github__', 'GitHub__x', '1github__x', 'git hub__x', '']) {
      expect(parseToolName(name)).toBeNull();
    }
  });

  it('service keys: lower-case, no "__", no trailing "_"', () => {
    expect(isValidServiceKey('github')).toBe(true);
    expect(isValidServiceKey('my_svc-2')).toBe(true);
    expect(isValidServiceKey('my__svc')).toBe(false);
    expect(isValidServiceKey('svc_')).toBe(false);
    expect(isValidServiceKey('Svc')).toBe(false);
  });
});

describe('derivePolicyKey', () => {
  it('slugs the name', () => {
    expect(derivePolicyKey('Block prod deletes!')).toBe('block-prod-deletes');
    expect(derivePolicyKey('  Café — après 18h ')).toBe('cafe-apres-18h');
    expect(derivePolicyKey('!!!')).toBe('policy');
  });
});

describe('IP addresses', () => {
  it('accepts only what Cedar ip() accepts', () => {
    for (const ok of ['10.0.0.0/8', '10.1.2.3', '0.0.0.0/0', '2001:db8::/32', '::1', '::/0']) expect(isValidCidr(ok)).toBe(true);
    for (const bad of ['10.0.0.0/33', '10.0.0.0/08', '010.0.0.1', '::ffff:1.2.3.4', 'fe80::1%eth0', '2001:db8::/129', 'example.com', '']) {
      expect(isValidCidr(bad)).toBe(false);
    }
  });

  it('normalises caller addresses', () => {
    expect(normalizeCallerIp('::ffff:10.0.0.7')).toBe('10.0.0.7');
    expect(normalizeCallerIp('fe80::1%eth0')).toBe('fe80::1');
    expect(normalizeCallerIp(' 2001:db8::1 ')).toBe('2001:db8::1');
    expect(normalizeCallerIp('10.0.0.0/8')).toBeNull();
    expect(normalizeCallerIp('unknown')).toBeNull();
    expect(normalizeCallerIp(null)).toBeNull();
  });
});
