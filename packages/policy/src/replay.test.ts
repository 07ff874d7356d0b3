import { describe, expect, it } from 'vitest';
import type { EnginePolicy } from './engine.ts';
import { replayDraft, type ReplayEntry } from './replay.ts';
import { makePolicy, MEMBER_A, MEMBER_B } from './test-fixtures.ts';

const agent = { id: 'agent-1', trustMode: 'untrusted' as const, timezone: 'UTC' };

let n = 0;
function entry(overrides: Partial<ReplayEntry> = {}): ReplayEntry {
  return {
    id: `e${++n}`,
    decision: 'ALLOW',
    service: 'github',
    tool: 'delete_file',
    memberId: MEMBER_A,
    arguments: { path: 'src/a.ts' },
    timestamp: '2026-05-04T12:00:00.000Z',
    callerIp: '10.0.0.1',
    ...overrides,
  };
}

describe('replayDraft', () => {
  const permitAll = makePolicy({ name: 'Everything' });

  it('counts before (as recorded), after (with the draft) and the changed entries', () => {
    const draft = makePolicy({ effect: 'forbid', tools: ['delete_file'], conditions: [{ key: 'path', op: 'startsWith', value: 'prod/' }] });
    const entries = [
      entry({ arguments: { path: 'prod/db.yml' } }),
      entry({ arguments: { path: 'src/x.ts' } }),
      entry({ tool: 'create_issue', arguments: {} }),
      entry({ decision: 'DENY', service: 'slack', tool: 'post', arguments: {} }),
    ];
    const result = replayDraft({ agent, policies: [permitAll], draft, entries });
    expect(result).toMatchObject({ total: 4, beforeAllowed: 3, beforeDenied: 1, afterAllowed: 2, afterDenied: 2, changed: 1, unmatched: 0 });
    expect(result.changes).toEqual([{ entryId: entries[0].id, recordedDecision: 'ALLOW', baselineDecision: 'ALLOW', draftDecision: 'DENY' }]);
  });

  it('a draft replaces the current policy with the same id', () => {
    const forbid = makePolicy({ effect: 'forbid', tools: ['delete_file'] });
    const relaxed: EnginePolicy = { ...forbid, version: 2, content: { ...forbid.content, principal: { type: 'specific_members', memberIds: [MEMBER_B] } } };
    const entries = [entry({ decision: 'DENY' }), entry({ decision: 'DENY', memberId: MEMBER_B })];
    const result = replayDraft({ agent, policies: [permitAll, forbid], draft: relaxed, entries });
    expect(result).toMatchObject({ beforeDenied: 2, afterAllowed: 1, afterDenied: 1, changed: 1 });
    expect(result.changes).toEqual([{ entryId: entries[0].id, recordedDecision: 'DENY', baselineDecision: 'DENY', draftDecision: 'ALLOW' }]);
  });

  it('a draft moving a policy to another service re-evaluates both services', () => {
    const trusted = { ...agent, trustMode: 'trusted' as const };
    const forbid = makePolicy({ service: 'slack', effect: 'forbid' });
    const moved: EnginePolicy = { ...forbid, content: { ...forbid.content, service: 'github' } };
    const entries = [entry({ decision: 'DENY', service: 'slack', tool: 'post' }), entry({ service: 'github' }), entry({ service: 'linear', tool: 'x' })];
    const result = replayDraft({ agent: trusted, policies: [forbid], draft: moved, entries, namespaces: { slack: 'SlackMCP', github: 'GitHubMCP' } });
    expect(result.changes.map((c) => [c.entryId, c.baselineDecision, c.draftDecision])).toEqual([
      [entries[0].id, 'DENY', 'ALLOW'],
      [entries[1].id, 'ALLOW', 'DENY'],
    ]);
  });

  it('disabling a policy through the draft', () => {
    const forbid = makePolicy({ effect: 'forbid' });
    const result = replayDraft({ agent, policies: [permitAll, forbid], draft: { ...forbid, enabled: false }, entries: [entry({ decision: 'DENY' })] });
    expect(result).toMatchObject({ afterAllowed: 1, changed: 1, unmatched: 0 });
  });

  it('baselineDecision is the current policies, which may differ from what was recorded', () => {
    // Recorded ALLOW under older policies; the current ones deny; the draft changes nothing for it.
    const draft = makePolicy({ service: 'slack' });
    const result = replayDraft({ agent, policies: [], draft, entries: [entry()] });
    expect(result).toMatchObject({ beforeAllowed: 1, afterDenied: 1, changed: 0, changes: [] });
  });

  it('counts entries lacking what the draft reads as Unmatched, and evaluates them as stored', () => {
    const draft = makePolicy({ effect: 'forbid', tools: ['delete_file'], conditions: [{ key: 'token_scope', op: 'eq', value: 'admin' }] });
    const redacted = entry({ arguments: { token_scope: '[REDACTED]' } });
    const absent = entry({ arguments: {} });
    const present = entry({ arguments: { token_scope: 'read' } });
    const otherTool = entry({ tool: 'create_issue', arguments: {} });
    const result = replayDraft({ agent, policies: [permitAll], draft, entries: [redacted, absent, present, otherTool] });
    expect(result.unmatched).toBe(2);
    expect(result.unmatchedEntryIds).toEqual([redacted.id, absent.id]);
    // As stored: "[REDACTED]" is not "admin"; a missing argument makes a forbid apply (fail closed).
    expect(result.changes.map((c) => c.entryId)).toEqual([absent.id]);
  });

  it('an entry without a caller IP is Unmatched for a draft with IP ranges', () => {
    const draft = makePolicy({ callerIps: ['10.0.0.0/8'] });
    const result = replayDraft({ agent, policies: [], draft, entries: [entry({ callerIp: null }), entry({ callerIp: '10.1.1.1' }), entry({ callerIp: '8.8.8.8' })] });
    expect(result).toMatchObject({ unmatched: 1, afterAllowed: 1, afterDenied: 2, changed: 1 });
  });

  it('uses the entry time in the agent timezone', () => {
    const draft = makePolicy({ effect: 'forbid', timeWindow: { hoursFrom: 18, hoursTo: 23 } });
    const ny = { ...agent, timezone: 'America/New_York' };
    const at = (timestamp: string) => entry({ timestamp });
    const result = replayDraft({ agent: ny, policies: [permitAll], draft, entries: [at('2026-05-04T21:30:00Z'), at('2026-05-04T23:30:00Z')] });
    // 17:30 and 19:30 in New York.
    expect(result.changes).toHaveLength(1);
    expect(result.changes[0].draftDecision).toBe('DENY');
  });

  it('refuses an invalid draft', () => {
    const draft = makePolicy({ timeWindow: { hoursFrom: 99 } });
    expect(() => replayDraft({ agent, policies: [], draft, entries: [] })).toThrow(/timeWindow.hoursFrom/);
  });
});
