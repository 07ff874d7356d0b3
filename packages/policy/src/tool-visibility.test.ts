import { describe, expect, it } from 'vitest';
import { makePolicy, MEMBER_A, MEMBER_B } from './test-fixtures.ts';
import { couldEverAllow } from './tool-visibility.ts';

const call = (overrides: Partial<Parameters<typeof couldEverAllow>[1]> = {}) => ({
  agent: { trustMode: 'untrusted' as const },
  memberId: MEMBER_A,
  service: 'github',
  tool: 'delete_file',
  ...overrides,
});

describe('couldEverAllow', () => {
  it('no policy for the service: trusted yes, untrusted no', () => {
    expect(couldEverAllow({ policies: [] }, call({ agent: { trustMode: 'trusted' } }))).toBe(true);
    expect(couldEverAllow({ policies: [] }, call())).toBe(false);
  });

  it('an unconditional forbid rules a tool out; a conditional one does not', () => {
    const permit = makePolicy({});
    expect(couldEverAllow({ policies: [permit, makePolicy({ effect: 'forbid', tools: ['delete_file'] })] }, call())).toBe(false);
    expect(couldEverAllow({ policies: [permit, makePolicy({ effect: 'forbid', tools: ['delete_file'], timeWindow: { hoursFrom: 18 } })] }, call())).toBe(true);
    expect(couldEverAllow({ policies: [permit, makePolicy({ effect: 'forbid', tools: ['delete_file'] }, { enabled: false })] }, call())).toBe(true);
  });

  it('needs a permit whose scope covers the tool and the member', () => {
    const forB = makePolicy({ principal: { type: 'specific_members', memberIds: [MEMBER_B] } });
    expect(couldEverAllow({ policies: [forB] }, call())).toBe(false);
    expect(couldEverAllow({ policies: [forB] }, call({ memberId: MEMBER_B }))).toBe(true);
    expect(couldEverAllow({ policies: [makePolicy({ tools: ['create_issue'] })] }, call())).toBe(false);
    expect(couldEverAllow({ policies: [makePolicy({ tools: ['create_issue'], callerIps: ['10.0.0.0/8'] })] }, call({ tool: 'create_issue' }))).toBe(true);
  });
});
