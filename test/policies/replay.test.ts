import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.ts';
import { jsonRequest } from '../support/rest.ts';

type D = 'ALLOW' | 'DENY';

/**
 * Seeded traffic, each row annotated by hand with what the current policies (permit all of github,
 * forbid github delete_file) and the draft (forbid github create_issue when repo starts with "acme/")
 * decide, so the expectations do not come from the engine under test.
 */
interface Row {
  service: string;
  tool: string;
  args: Record<string, unknown>;
  recorded: D;
  baseline: D;
  draft: D;
  /** In the draft's scope but lacking the argument it reads (redacted or absent). */
  unmatched: boolean;
  minutesAgo: number;
}

const ROWS: Row[] = [
  ...Array.from({ length: 5 }, (_, i): Row => ({ service: 'github', tool: 'list_repositories', args: {}, recorded: 'ALLOW', baseline: 'ALLOW', draft: 'ALLOW', unmatched: false, minutesAgo: 10 + i })),
  ...Array.from({ length: 3 }, (_, i): Row => ({ service: 'github', tool: 'delete_file', args: { path: 'x' }, recorded: 'DENY', baseline: 'DENY', draft: 'DENY', unmatched: false, minutesAgo: 20 + i })),
  { service: 'github', tool: 'create_issue', args: { repo: 'acme/web' }, recorded: 'ALLOW', baseline: 'ALLOW', draft: 'DENY', unmatched: false, minutesAgo: 30 },
  { service: 'github', tool: 'create_issue', args: { repo: 'acme/api' }, recorded: 'ALLOW', baseline: 'ALLOW', draft: 'DENY', unmatched: false, minutesAgo: 31 },
  { service: 'github', tool: 'create_issue', args: { repo: 'other/x' }, recorded: 'ALLOW', baseline: 'ALLOW', draft: 'ALLOW', unmatched: false, minutesAgo: 32 },
  // Redacted: text, so the condition is evaluated on "[REDACTED]" (no match) but the entry is counted as unmatched.
  { service: 'github', tool: 'create_issue', args: { repo: '[REDACTED]' }, recorded: 'ALLOW', baseline: 'ALLOW', draft: 'ALLOW', unmatched: true, minutesAgo: 33 },
  // Absent: a forbid's condition on a missing argument applies (fail closed).
  { service: 'github', tool: 'create_issue', args: {}, recorded: 'ALLOW', baseline: 'ALLOW', draft: 'DENY', unmatched: true, minutesAgo: 34 },
  // Recorded DENY (e.g. while the agent was stopped) but allowed by the current policies.
  { service: 'github', tool: 'create_issue', args: { repo: 'acme/old' }, recorded: 'DENY', baseline: 'ALLOW', draft: 'DENY', unmatched: false, minutesAgo: 35 },
  // No policy targets slack and the agent is trusted: default allow, untouched by the draft.
  ...Array.from({ length: 2 }, (_, i): Row => ({ service: 'slack', tool: 'post_message', args: { text: 'hi' }, recorded: 'ALLOW', baseline: 'ALLOW', draft: 'ALLOW', unmatched: false, minutesAgo: 40 + i })),
];

function expected(rows: Row[]) {
  const count = (pred: (r: Row) => boolean) => rows.filter(pred).length;
  return {
    total: rows.length,
    beforeAllowed: count((r) => r.recorded === 'ALLOW'),
    beforeDenied: count((r) => r.recorded === 'DENY'),
    afterAllowed: count((r) => r.draft === 'ALLOW'),
    afterDenied: count((r) => r.draft === 'DENY'),
    changed: count((r) => r.draft !== r.baseline),
    unmatched: count((r) => r.unmatched),
  };
}

const REPLAY = `query($input: ReplayInput!) {
  replay(input: $input) {
    __typename
    ... on ReplayResult {
      from to total beforeAllowed beforeDenied afterAllowed afterDenied changed unmatched truncated unmatchedEntryIds
      changes { recordedDecision baselineDecision draftDecision entry { id tool toolArgs } }
    }
    ... on ValidationError { field message }
    ... on NotFoundError { message }
  }
}`;

const DRAFT = { name: 'No acme issues', service: 'github', effect: 'forbid', tools: ['create_issue'], conditions: [{ key: 'repo', op: 'startsWith', value: 'acme/' }] };

describe("replay a draft against the agent's audit entries (spec §3)", () => {
  let t: TestApp;
  let owner: { token: string; account: { id: string; email: string } };
  let agentId: string;
  let forbidDeletes: string;
  const ids = new Map<string, Row>();
  let oldEntryId: string;

  beforeAll(async () => {
    t = await startTestApp();
    owner = await t.f.accountWithToken();
    await t.f.connector({ service: 'github' });
    await t.f.connector({ service: 'slack', tools: [{ name: 'post_message' }] });
    const agent = await t.f.agent({ name: 'replay-bot', trustMode: 'trusted', owner: owner.account, services: ['github', 'slack'] });
    agentId = agent.id;
    const member = await t.f.member({ agentId });
    for (const body of [
      { name: 'Allow github', service: 'github', effect: 'permit' },
      { name: 'No deletes', service: 'github', effect: 'forbid', tools: ['delete_file'] },
    ]) {
      const res = await t.request(`/api/agents/${agentId}/policies`, jsonRequest('POST', body, owner.token));
      expect(res.status).toBe(201);
      if (body.effect === 'forbid') forbidDeletes = (await res.json()).id;
    }
    const now = Date.now();
    const inserted = await t.f.auditEntries(
      ROWS.map((r) => ({
        agent_id: agentId,
        agent_name: agent.name,
        member_id: member.id,
        service: r.service,
        tool: r.tool,
        tool_args: JSON.stringify(r.args),
        decision: r.recorded,
        timestamp: new Date(now - r.minutesAgo * 60_000),
      })),
    );
    inserted.forEach((e, i) => ids.set(e.id, ROWS[i]));
    // Outside the default window, and another agent's traffic: neither is replayed by default.
    [{ id: oldEntryId }] = await t.f.auditEntries([
      { agent_id: agentId, agent_name: agent.name, member_id: member.id, tool: 'create_issue', tool_args: { repo: 'acme/web' }, timestamp: new Date(now - 30 * 3_600_000) },
    ]);
    const other = await t.f.agent({ owner: owner.account, services: ['github'] });
    await t.f.auditEntries([{ agent_id: other.id, agent_name: 'x', tool: 'create_issue', tool_args: { repo: 'acme/web' } }]);
  });
  afterAll(async () => t?.close());

  const replay = async (input: Record<string, unknown>) => {
    const r = await t.graphql(REPLAY, { input }, owner.token);
    expect(r.body.errors).toBeUndefined();
    return r.body.data.replay;
  };

  it('counts Before, After, Changed and Unmatched over the last 24 hours and lists the changed entries', async () => {
    const r = await replay({ agentId, draft: DRAFT });
    expect(r.__typename).toBe('ReplayResult');
    expect(r).toMatchObject({ ...expected(ROWS), truncated: false });
    expect(new Date(r.to).getTime() - new Date(r.from).getTime()).toBe(24 * 3_600_000);

    const changedRows = [...ids].filter(([, row]) => row.draft !== row.baseline);
    expect(r.changes.map((c: any) => c.entry.id).sort()).toEqual(changedRows.map(([id]) => id).sort());
    for (const c of r.changes) {
      const row = ids.get(c.entry.id)!;
      expect(c).toMatchObject({ recordedDecision: row.recorded, baselineDecision: row.baseline, draftDecision: row.draft, entry: { tool: row.tool, toolArgs: row.args } });
    }
    expect(r.unmatchedEntryIds.sort()).toEqual([...ids].filter(([, row]) => row.unmatched).map(([id]) => id).sort());
  });

  it('replays a draft that replaces (here: disables) an existing policy', async () => {
    const r = await replay({ agentId, replacesPolicyId: forbidDeletes, draft: { name: 'No deletes', service: 'github', effect: 'forbid', tools: ['delete_file'], enabled: false } });
    const deletes = ROWS.filter((row) => row.tool === 'delete_file').length;
    const baselineDenied = ROWS.filter((row) => row.baseline === 'DENY').length;
    expect(r).toMatchObject({ changed: deletes, afterDenied: baselineDenied - deletes, unmatched: 0 });
    expect(r.changes.every((c: any) => c.entry.tool === 'delete_file' && c.baselineDecision === 'DENY' && c.draftDecision === 'ALLOW')).toBe(true);
  });

  it('takes an explicit window and answers the same over REST', async () => {
    const from = new Date(Date.now() - 48 * 3_600_000).toISOString();
    const r = await replay({ agentId, draft: DRAFT, from });
    // The 30-hour-old entry (acme/web create_issue, allowed now, denied by the draft) joins in.
    expect(r.total).toBe(ROWS.length + 1);
    expect(r.changed).toBe(expected(ROWS).changed + 1);
    expect(r.changes.map((c: any) => c.entry.id)).toContain(oldEntryId);

    const res = await t.request(`/api/agents/${agentId}/policies/simulate`, jsonRequest('POST', { mode: 'replay', draft: DRAFT }, owner.token));
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ mode: 'replay', ...expected(ROWS), truncated: false });
    expect(body.changes[0]).toMatchObject({ entryId: expect.any(String), recordedDecision: expect.any(String), entry: { agentId, tool: 'create_issue' } });

    const bad = await t.request(`/api/agents/${agentId}/policies/simulate`, jsonRequest('POST', { mode: 'replay', draft: DRAFT, from: '2026-02-01', to: '2026-01-01' }, owner.token));
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.param).toBe('from');
    const noDraft = await t.request(`/api/agents/${agentId}/policies/simulate`, jsonRequest('POST', { mode: 'replay' }, owner.token));
    expect((await noDraft.json()).error.param).toBe('draft');
  });

  it('names draft fields in validation errors', async () => {
    const r = await replay({ agentId, draft: { ...DRAFT, tools: ['no_such_tool'] } });
    expect(r).toMatchObject({ __typename: 'ValidationError', field: 'draft.tools[0]' });
  });
});
