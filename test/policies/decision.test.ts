import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecisionService, type Access, type Core } from '@wicket/core';
import { startTestApp, type TestApp } from '../support/app.ts';

describe('DecisionService: the policies the proxy decides with', () => {
  let t: TestApp;
  let core: Core;
  let access: Access;
  let agentId: string;
  let memberId: string;

  beforeAll(async () => {
    t = await startTestApp();
    core = t.app.core;
    const owner = await t.f.accountWithToken();
    await t.f.connector({ service: 'github' });
    agentId = (await t.f.agent({ owner: owner.account, trustMode: 'untrusted', services: ['github'] })).id;
    memberId = (await t.f.member({ agentId })).id;
    access = await core.access(await core.auth.authenticate({ authorization: owner.authorization }));
  });
  afterAll(async () => t?.close());

  const request = (tool: string) => ({
    agent: { id: agentId, trustMode: 'untrusted' as const, timezone: 'UTC' },
    member: { id: memberId },
    service: 'github',
    namespace: 'GithubMCP',
    tool,
    arguments: {},
    time: new Date(),
  });

  it('changes revision with every create, save, toggle and rollback, and holds only enabled policies', async () => {
    const revisions: string[] = [];
    const load = async () => {
      const p = await core.decisions.loadAgentPolicies(agentId);
      revisions.push(p.revision);
      return p;
    };
    expect((await load()).policies).toEqual([]);

    const permit = await core.policies.create(access, agentId, { name: 'Allow reads', service: 'github', effect: 'permit', tools: ['list_repositories'] });
    let loaded = await load();
    expect(loaded.policies).toEqual([expect.objectContaining({ id: permit.id, key: 'allow-reads', version: 1, enabled: true })]);
    expect(core.decisions.decide(loaded, request('list_repositories')).decision).toBe('ALLOW');
    expect(core.decisions.decide(loaded, request('delete_file')).rule).toBe('no_permit');

    // Unchanged: the same object, from one revision read.
    expect(await core.decisions.loadAgentPolicies(agentId)).toBe(loaded);

    await core.policies.save(access, permit.id, { name: 'Allow reads', service: 'github', effect: 'permit', tools: ['list_repositories', 'delete_file'] });
    loaded = await load();
    expect(loaded.policies[0].version).toBe(2);
    expect(core.decisions.decide(loaded, request('delete_file')).decision).toBe('ALLOW');

    // Two toggles in a row (well within one millisecond of each other at times) each change the revision.
    await core.policies.toggle(access, permit.id);
    loaded = await load();
    expect(loaded.policies).toEqual([]);
    expect(core.decisions.decide(loaded, request('list_repositories')).rule).toBe('fail_closed');
    await core.policies.toggle(access, permit.id);
    loaded = await load();
    expect(loaded.policies).toHaveLength(1);

    await core.policies.rollback(access, permit.id, 1);
    loaded = await load();
    expect(loaded.policies[0].version).toBe(3);
    expect(core.decisions.decide(loaded, request('delete_file')).decision).toBe('DENY');

    // none, v1, v2, disabled, enabled again, v3: the agent's counter, raised by the database with each
    // change (re-enabling makes a new revision even though the state equals an earlier one).
    expect(revisions).toHaveLength(6);
    for (let i = 1; i < revisions.length; i++) expect(Number(revisions[i])).toBeGreaterThan(Number(revisions[i - 1]));
  });

  it('sees a change made through another DecisionService on the same database at once', async () => {
    const other = new DecisionService(t.testDb.database.db);
    const before = await other.loadAgentPolicies(agentId);
    const [p] = before.policies;
    const events: { agentId: string }[] = [];
    const off = core.events.on('policies.changed', (e) => events.push(e));
    await core.policies.setEnabled(access, p.id, false);
    // Setting the state it already has changes nothing and announces nothing.
    await core.policies.setEnabled(access, p.id, false);
    off();
    expect(events).toEqual([{ agentId }]);
    const after = await other.loadAgentPolicies(agentId);
    expect(after.revision).not.toBe(before.revision);
    expect(after.policies).toEqual([]);
    await core.policies.setEnabled(access, p.id, true);
  });

  it('sees a change written straight into the policies table (psql, a restore script) on the next load', async () => {
    const db = t.testDb.database.db;
    const before = await core.decisions.loadAgentPolicies(agentId);
    expect(before.policies.length).toBeGreaterThan(0);
    await sql`update policies set enabled = false where agent_id = ${agentId}`.execute(db);
    const disabled = await core.decisions.loadAgentPolicies(agentId);
    expect(disabled.revision).not.toBe(before.revision);
    expect(disabled.policies).toEqual([]);
    // A change raises its own agent's revision only.
    const other = await t.f.agent({ services: ['github'] });
    const untouched = await core.decisions.loadAgentPolicies(other.id);
    await sql`update policies set enabled = true where agent_id = ${agentId}`.execute(db);
    expect((await core.decisions.loadAgentPolicies(agentId)).policies.length).toBe(before.policies.length);
    expect(await core.decisions.loadAgentPolicies(other.id)).toBe(untouched);
  });

  it('a TRUNCATE of the policies (a restore script) raises every agent\'s revision', async () => {
    // A database of its own: the truncate takes every policy with it.
    const own = await startTestApp();
    try {
      const owner = await own.f.accountWithToken();
      await own.f.connector({ service: 'github' });
      const agent = (await own.f.agent({ owner: owner.account, services: ['github'] })).id;
      const ownAccess = await own.app.core.access(await own.app.core.auth.authenticate({ authorization: owner.authorization }));
      await own.app.core.policies.create(ownAccess, agent, { name: 'Allow reads', service: 'github', effect: 'permit', tools: ['list_repositories'] });
      const before = await own.app.core.decisions.loadAgentPolicies(agent);
      expect(before.policies).toHaveLength(1);
      await sql`truncate policies cascade`.execute(own.testDb.database.db);
      const after = await own.app.core.decisions.loadAgentPolicies(agent);
      expect(after.revision).not.toBe(before.revision);
      expect(after.policies).toEqual([]);
    } finally {
      await own.close();
    }
  });

  it('decides a one-off policy set without disturbing the agent', async () => {
    const loaded = await core.decisions.loadAgentPolicies(agentId);
    const draft = {
      id: 'draft',
      key: 'draft',
      name: 'Draft',
      version: 1,
      enabled: true,
      content: { name: 'Draft', service: 'github', effect: 'forbid' as const, tools: [], principal: { type: 'all_members' as const } },
    };
    expect(core.decisions.decideWith(agentId, [...loaded.policies, draft], request('list_repositories')).rule).toBe('forbid');
    expect(core.decisions.decide(loaded, request('list_repositories')).decision).toBe('ALLOW');
  });
});
