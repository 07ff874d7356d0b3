import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.ts';
import { jsonRequest } from '../support/rest.ts';

const POLICY_FIELDS = `id agentId key name service effect tools enabled version cedar createdAt updatedAt denyMessage callerIps
  principal { type memberIds } timeWindow { daysOfWeek hoursFrom hoursTo activeFrom activeTo } conditions { key op value }`;

function parsesAsCedar(text: string): boolean {
  return cedar.checkParsePolicySet({ staticPolicies: text }).type === 'success';
}

describe('policies: create, save, roll back, toggle (spec §2, §7, §8)', () => {
  let t: TestApp;
  let queries: string[] = [];
  let owner: { token: string; account: { id: string; email: string } };
  let memberToken: string;
  let strangerToken: string;
  let agentId: string;
  let memberId: string;

  beforeAll(async () => {
    t = await startTestApp({ onQuery: (q) => queries.push(q) });
    owner = await t.f.accountWithToken({ email: 'owner@example.com' });
    await t.f.connector({ service: 'github' });
    await t.f.connector({ service: 'slack', tools: [{ name: 'post_message', tier: 'write' }] });
    const agent = await t.f.agent({ name: 'repo-bot', owner: owner.account, services: ['github', 'slack'] });
    agentId = agent.id;
    const m = await t.f.accountWithToken();
    memberToken = m.token;
    memberId = (await t.f.member({ agentId, account: m.account, status: 'approved' })).id;
    strangerToken = (await t.f.accountWithToken()).token;
  });
  afterAll(async () => t?.close());

  const db = () => t.testDb.database.db;
  const api = (path: string, init: RequestInit & { token?: string } = {}) => t.request(`/api${path}`, { ...init, token: init.token ?? owner.token });
  const activity = (targetId: string) =>
    db().selectFrom('admin_activity').selectAll().where('target_id', '=', targetId).orderBy('created_at').orderBy('id').execute();

  async function createViaRest(body: Record<string, unknown>) {
    const res = await api(`/agents/${agentId}/policies`, jsonRequest('POST', body));
    expect(res.status, JSON.stringify(await res.clone().json())).toBe(201);
    return res.json();
  }

  describe('REST', () => {
    it('creates a policy enabled at version 1 with a derived key and a Cedar preview that parses', async () => {
      const p = await createViaRest({ name: 'Block prod deletes!', service: 'github', effect: 'forbid', tools: ['delete_file'], denyMessage: 'No deletes.' });
      expect(p).toMatchObject({
        agentId,
        key: 'block-prod-deletes',
        name: 'Block prod deletes!',
        service: 'github',
        effect: 'forbid',
        tools: ['delete_file'],
        principal: { type: 'all_members' },
        timeWindow: null,
        callerIps: [],
        conditions: [],
        denyMessage: 'No deletes.',
        enabled: true,
        version: 1,
      });
      expect(p.cedar).toContain('forbid (');
      expect(p.cedar).toContain('GithubMCP::Action::"delete_file"');
      expect(p.cedar).toContain(`@id("${p.id}")`);
      expect(parsesAsCedar(p.cedar)).toBe(true);

      const got = await (await api(`/policies/${p.id}`)).json();
      expect(got.versions).toHaveLength(1);
      expect(got.versions[0]).toMatchObject({ version: 1, name: 'Block prod deletes!', cedar: p.cedar, createdBy: 'owner@example.com' });

      const list = await (await api(`/agents/${agentId}/policies`)).json();
      expect(list.policies.map((x: { id: string }) => x.id)).toContain(p.id);

      const rows = await activity(p.id);
      expect(rows.map((r) => r.action)).toEqual(['policy.created']);
      expect(rows[0].account_id).toBe(owner.account.id);
    });

    it('creates disabled when enabled is false, and takes every structured field', async () => {
      const p = await createViaRest({
        name: 'Office hours for acme repos',
        key: 'office-hours',
        service: 'github',
        effect: 'permit',
        tools: ['create_issue', 'list_repositories'],
        principal: { type: 'specific_members', memberIds: [memberId] },
        timeWindow: { daysOfWeek: [1, 2, 3, 4, 5], hoursFrom: 9, hoursTo: 17, activeFrom: '2026-01-01' },
        callerIps: ['10.0.0.0/8', '2001:db8::/32'],
        conditions: [{ key: 'repo', op: 'startsWith', value: 'acme/' }],
        enabled: false,
      });
      expect(p).toMatchObject({
        key: 'office-hours',
        enabled: false,
        version: 1,
        principal: { type: 'specific_members', memberIds: [memberId] },
        timeWindow: { daysOfWeek: [1, 2, 3, 4, 5], hoursFrom: 9, hoursTo: 17, activeFrom: '2026-01-01' },
        callerIps: ['10.0.0.0/8', '2001:db8::/32'],
        conditions: [{ key: 'repo', op: 'startsWith', value: 'acme/' }],
      });
      expect(parsesAsCedar(p.cedar)).toBe(true);
    });

    it('saves changed content as a new immutable version, and nothing when unchanged', async () => {
      const p = await createViaRest({ name: 'Slack posting', service: 'slack', effect: 'permit' });
      const v1Cedar = p.cedar;
      const saved = await (await api(`/policies/${p.id}`, jsonRequest('PUT', { name: 'Slack posting', service: 'slack', effect: 'permit', tools: ['post_message'] }))).json();
      expect(saved).toMatchObject({ id: p.id, key: p.key, version: 2, tools: ['post_message'], enabled: true });
      expect(saved.cedar).not.toBe(v1Cedar);

      const again = await api(`/policies/${p.id}`, jsonRequest('PUT', { name: 'Slack posting', service: 'slack', effect: 'permit', tools: ['post_message'] }));
      expect(again.status).toBe(200);
      expect((await again.json()).version).toBe(2);

      const got = await (await api(`/policies/${p.id}`)).json();
      expect(got.versions.map((v: { version: number }) => v.version)).toEqual([2, 1]);
      expect(got.versions[1]).toMatchObject({ tools: [], cedar: v1Cedar });
      expect((await activity(p.id)).map((r) => r.action)).toEqual(['policy.created', 'policy.saved']);
      const [, save] = await activity(p.id);
      expect(save.before).toMatchObject({ version: 1, content: { tools: [] } });
      expect(save.after).toMatchObject({ version: 2, content: { tools: ['post_message'] } });
    });

    it("rolls back by saving an old version's content as a new version", async () => {
      const p = await createViaRest({ name: 'Deny deletes', service: 'github', effect: 'forbid', tools: ['delete_file'] });
      await api(`/policies/${p.id}`, jsonRequest('PUT', { name: 'Deny deletes and issues', service: 'github', effect: 'forbid', tools: ['delete_file', 'create_issue'] }));
      const res = await api(`/policies/${p.id}/rollback`, jsonRequest('POST', { version: 1 }));
      expect(res.status).toBe(200);
      const rolled = await res.json();
      expect(rolled).toMatchObject({ version: 3, name: 'Deny deletes', tools: ['delete_file'] });

      const stored = await db().selectFrom('policy_versions').selectAll().where('policy_id', '=', p.id).orderBy('version').execute();
      expect(stored.map((v) => v.version)).toEqual([1, 2, 3]);
      expect(stored[2].content).toEqual(stored[0].content);
      expect(stored[2].cedar).toBe(stored[0].cedar);
      const rows = await activity(p.id);
      expect(rows.at(-1)).toMatchObject({ action: 'policy.rolled_back', after: expect.objectContaining({ version: 3, restoredFrom: 1 }) });

      // Rolling back to the content already current makes no version.
      expect((await (await api(`/policies/${p.id}/rollback`, jsonRequest('POST', { version: 3 }))).json()).version).toBe(3);
      const missing = await api(`/policies/${p.id}/rollback`, jsonRequest('POST', { version: 9 }));
      expect(missing.status).toBe(400);
      expect((await missing.json()).error).toMatchObject({ code: 'VALIDATION_FAILED', param: 'version' });
      const notANumber = await api(`/policies/${p.id}/rollback`, jsonRequest('POST', { version: 'one' }));
      expect((await notANumber.json()).error.param).toBe('version');
    });

    it('refuses UPDATE and DELETE of a stored version in the database itself', async () => {
      const p = await createViaRest({ name: 'Immutable', service: 'github', effect: 'permit' });
      await expect(sql`update policy_versions set cedar = 'x' where policy_id = ${p.id}`.execute(db())).rejects.toThrow(/append-only/);
      await expect(sql`delete from policy_versions where policy_id = ${p.id}`.execute(db())).rejects.toThrow(/append-only/);
      const row = await db().selectFrom('policy_versions').selectAll().where('policy_id', '=', p.id).executeTakeFirstOrThrow();
      expect(row.cedar).toBe(p.cedar);
    });

    it('toggles enabled without a new version and records it as admin activity', async () => {
      const p = await createViaRest({ name: 'Toggle me', service: 'github', effect: 'permit' });
      const off = await (await api(`/policies/${p.id}/toggle`, { method: 'POST' })).json();
      expect(off).toMatchObject({ id: p.id, enabled: false, version: 1 });
      const on = await (await api(`/policies/${p.id}/toggle`, { method: 'POST' })).json();
      expect(on.enabled).toBe(true);
      const rows = (await activity(p.id)).filter((r) => r.action === 'policy.enabled.set');
      expect(rows.map((r) => [r.before, r.after])).toEqual([
        [{ key: p.key, enabled: true }, { key: p.key, enabled: false }],
        [{ key: p.key, enabled: false }, { key: p.key, enabled: true }],
      ]);
      expect(rows.every((r) => r.account_id === owner.account.id && r.agent_id === agentId)).toBe(true);
    });

    it('answers 409 naming key when the key is taken on this agent, and allows it on another agent', async () => {
      await createViaRest({ name: 'Unique', key: 'unique-key', service: 'github', effect: 'permit' });
      const res = await api(`/agents/${agentId}/policies`, jsonRequest('POST', { name: 'Other', key: 'unique-key', service: 'github', effect: 'permit' }));
      expect(res.status).toBe(409);
      expect((await res.json()).error).toMatchObject({ code: 'CONFLICT', param: 'key' });
      const derived = await api(`/agents/${agentId}/policies`, jsonRequest('POST', { name: 'Unique Key', service: 'github', effect: 'permit' }));
      expect(derived.status).toBe(409);

      const other = await t.f.agent({ owner: owner.account, services: ['github'] });
      const ok = await api(`/agents/${other.id}/policies`, jsonRequest('POST', { name: 'Other', key: 'unique-key', service: 'github', effect: 'permit' }));
      expect(ok.status).toBe(201);
    });

    it('answers 400 naming the offending field', async () => {
      const cases: [Record<string, unknown>, string][] = [
        [{ service: 'github', effect: 'permit' }, 'name'],
        [{ name: 'x', service: 'github', effect: 'allow' }, 'effect'],
        [{ name: 'x', service: 'github', effect: 'permit', timeWindow: { hoursFrom: 25 } }, 'timeWindow.hoursFrom'],
        [{ name: 'x', service: 'github', effect: 'permit', timeWindow: { daysOfWeek: [1, 7] } }, 'timeWindow.daysOfWeek[1]'],
        [{ name: 'x', service: 'github', effect: 'permit', timeWindow: { activeFrom: '2026-02-30' } }, 'timeWindow.activeFrom'],
        [{ name: 'x', service: 'github', effect: 'forbid', denyMessage: 'x'.repeat(501) }, 'denyMessage'],
        [{ name: 'x', service: 'github', effect: 'permit', denyMessage: 'only forbids have one' }, 'denyMessage'],
        [{ name: 'x', service: 'github', effect: 'permit', callerIps: ['10.0.0.0/8', 'not-an-ip'] }, 'callerIps[1]'],
        [{ name: 'x', service: 'nope', effect: 'permit' }, 'service'],
        [{ name: 'x', service: 'github', effect: 'permit', tools: ['list_repositories', 'delete_fle'] }, 'tools[1]'],
        [{ name: 'x', service: 'github', effect: 'permit', principal: { type: 'specific_members', memberIds: [] } }, 'principal.memberIds'],
        [{ name: 'x', service: 'github', effect: 'permit', principal: { type: 'specific_members', memberIds: ['00000000-0000-4000-8000-000000000001'] } }, 'principal.memberIds[0]'],
        [{ name: 'x', key: 'Not A Slug', service: 'github', effect: 'permit' }, 'key'],
        [{ name: 'x', service: 'github', effect: 'permit', enabled: 'yes' }, 'enabled'],
        [{ name: 'x', service: 'github', effect: 'permit', conditions: [{ key: 'repo', op: 'like', value: 'a' }] }, 'conditions[0].op'],
      ];
      for (const [body, param] of cases) {
        const res = await api(`/agents/${agentId}/policies`, jsonRequest('POST', body));
        expect(res.status, JSON.stringify(body)).toBe(400);
        const { error } = await res.json();
        expect(error.code).toBe('VALIDATION_FAILED');
        expect(error.param, JSON.stringify(body)).toBe(param);
        expect(error.message).toContain(param);
      }
      const notJson = await api(`/agents/${agentId}/policies`, { method: 'POST', body: 'nope' });
      expect((await notJson.json()).error.param).toBe('body');
      const badId = await api('/policies/not-a-uuid');
      expect(badId.status).toBe(400);
      expect((await badId.json()).error.param).toBe('id');
    });

    it('refuses to change the key on save', async () => {
      const p = await createViaRest({ name: 'Keyed', service: 'github', effect: 'permit' });
      const res = await api(`/policies/${p.id}`, jsonRequest('PUT', { name: 'Keyed', key: 'renamed', service: 'github', effect: 'permit' }));
      expect(res.status).toBe(400);
      expect((await res.json()).error.param).toBe('key');
    });

    it('answers 404 to members and strangers, for reads and writes alike, and changes nothing', async () => {
      const p = await createViaRest({ name: 'Hidden', service: 'github', effect: 'forbid' });
      const before = await db().selectFrom('policies').selectAll().orderBy('id').execute();
      const activityBefore = await db().selectFrom('admin_activity').select('id').execute();
      for (const token of [memberToken, strangerToken]) {
        const attempts: [string, RequestInit][] = [
          [`/agents/${agentId}/policies`, {}],
          [`/policies/${p.id}`, {}],
          [`/agents/${agentId}/policies`, jsonRequest('POST', { name: 'Sneaky', service: 'github', effect: 'permit' })],
          [`/policies/${p.id}`, jsonRequest('PUT', { name: 'Hidden', service: 'github', effect: 'permit' })],
          [`/policies/${p.id}/toggle`, { method: 'POST' }],
          [`/policies/${p.id}/rollback`, jsonRequest('POST', { version: 1 })],
          [`/agents/${agentId}/policies/simulate`, jsonRequest('POST', { service: 'github', tool: 'delete_file' })],
        ];
        for (const [path, init] of attempts) {
          const res = await api(path, { ...init, token });
          expect(res.status, `${init.method ?? 'GET'} ${path}`).toBe(404);
          expect((await res.json()).error.code).toBe('NOT_FOUND');
        }
      }
      expect(await db().selectFrom('policies').selectAll().orderBy('id').execute()).toEqual(before);
      expect(await db().selectFrom('admin_activity').select('id').execute()).toHaveLength(activityBefore.length);
    });
  });

  describe('GraphQL', () => {
    const CREATE = `mutation($agentId: ID!, $input: PolicyInput!) {
      createPolicy(agentId: $agentId, input: $input) {
        __typename
        ... on PolicyPayload { policy { ${POLICY_FIELDS} versions { version cedar createdBy } } }
        ... on ValidationError { field message code }
        ... on ConflictError { message code }
        ... on NotFoundError { message code }
      }
    }`;
    const gql = (query: string, variables: Record<string, unknown>, token = owner.token) => t.graphql(query, variables, token);

    it('creates, saves, rolls back and toggles with typed payloads', async () => {
      const created = await gql(CREATE, {
        agentId,
        input: {
          name: 'GraphQL forbid',
          service: 'github',
          effect: 'forbid',
          tools: ['delete_file'],
          principal: { type: 'specific_members', memberIds: [memberId] },
          timeWindow: { hoursFrom: 22, hoursTo: 6 },
          conditions: [{ key: 'path', op: 'contains', value: 'prod' }],
          denyMessage: 'Not at night.',
        },
      });
      expect(created.body.errors).toBeUndefined();
      const p = created.body.data.createPolicy.policy;
      expect(created.body.data.createPolicy.__typename).toBe('PolicyPayload');
      expect(p).toMatchObject({
        key: 'graphql-forbid',
        effect: 'forbid',
        principal: { type: 'specific_members', memberIds: [memberId] },
        timeWindow: { hoursFrom: 22, hoursTo: 6, daysOfWeek: null },
        conditions: [{ key: 'path', op: 'contains', value: 'prod' }],
        denyMessage: 'Not at night.',
        enabled: true,
        version: 1,
        versions: [{ version: 1, createdBy: 'owner@example.com' }],
      });
      expect(parsesAsCedar(p.cedar)).toBe(true);

      const saved = await gql(
        `mutation($id: ID!, $input: PolicyInput!) { savePolicy(id: $id, input: $input) { __typename ... on PolicyPayload { policy { version tools versions { version } } } } }`,
        { id: p.id, input: { name: 'GraphQL forbid', service: 'github', effect: 'forbid', tools: ['delete_file', 'create_issue'] } },
      );
      expect(saved.body.data.savePolicy.policy).toMatchObject({ version: 2, tools: ['delete_file', 'create_issue'], versions: [{ version: 2 }, { version: 1 }] });

      const rolled = await gql(`mutation($id: ID!) { rollbackPolicy(id: $id, version: 1) { ... on PolicyPayload { policy { version tools denyMessage } } } }`, { id: p.id });
      expect(rolled.body.data.rollbackPolicy.policy).toEqual({ version: 3, tools: ['delete_file'], denyMessage: 'Not at night.' });

      const toggled = await gql(`mutation($id: ID!) { togglePolicy(id: $id) { ... on PolicyPayload { policy { enabled version } } } }`, { id: p.id });
      expect(toggled.body.data.togglePolicy.policy).toEqual({ enabled: false, version: 3 });
      const set = await gql(`mutation($id: ID!) { setPolicyEnabled(id: $id, enabled: true) { ... on PolicyPayload { policy { enabled } } } }`, { id: p.id });
      expect(set.body.data.setPolicyEnabled.policy.enabled).toBe(true);
      expect((await activity(p.id)).map((r) => r.action)).toEqual(['policy.created', 'policy.saved', 'policy.rolled_back', 'policy.enabled.set', 'policy.enabled.set']);
    });

    it('returns ValidationError naming the field and ConflictError as union members', async () => {
      const bad = await gql(CREATE, { agentId, input: { name: 'Bad hours', service: 'github', effect: 'permit', timeWindow: { hoursFrom: 24 } } });
      expect(bad.body.data.createPolicy).toMatchObject({ __typename: 'ValidationError', field: 'timeWindow.hoursFrom', code: 'VALIDATION_FAILED' });
      const long = await gql(CREATE, { agentId, input: { name: 'Long', service: 'github', effect: 'forbid', denyMessage: 'x'.repeat(501) } });
      expect(long.body.data.createPolicy).toMatchObject({ __typename: 'ValidationError', field: 'denyMessage' });

      await gql(CREATE, { agentId, input: { name: 'Taken', service: 'github', effect: 'permit' } });
      const taken = await gql(CREATE, { agentId, input: { name: 'Taken', service: 'github', effect: 'permit' } });
      expect(taken.body.data.createPolicy).toMatchObject({ __typename: 'ConflictError', code: 'CONFLICT' });
    });

    it('hides policies from members: empty lists, null, NotFoundError', async () => {
      const p = (await createViaRest({ name: 'Owner only', service: 'github', effect: 'permit' })) as { id: string };
      const read = await gql(
        `query($agentId: ID!, $id: ID!) { policies(agentId: $agentId) { id } policy(id: $id) { id } agent(id: $agentId) { viewerRole policies { id } } }`,
        { agentId, id: p.id },
        memberToken,
      );
      expect(read.body.errors).toBeUndefined();
      expect(read.body.data).toEqual({ policies: [], policy: null, agent: { viewerRole: 'member', policies: [] } });

      const write = await gql(`mutation($id: ID!) { togglePolicy(id: $id) { __typename } }`, { id: p.id }, memberToken);
      expect(write.body.data.togglePolicy.__typename).toBe('NotFoundError');
      const create = await gql(CREATE, { agentId, input: { name: 'Sneaky', service: 'github', effect: 'permit' } }, memberToken);
      expect(create.body.data.createPolicy.__typename).toBe('NotFoundError');
      const row = await db().selectFrom('policies').select('enabled').where('id', '=', p.id).executeTakeFirstOrThrow();
      expect(row.enabled).toBe(true);
    });

    it('loads policies and their versions for many agents in a constant number of queries', async () => {
      const QUERY = `{ agents(first: 100) { edges { node { id policies { id key versions { version cedar } } } } } }`;
      const count = async () => {
        queries = [];
        const r = await gql(QUERY, {});
        expect(r.body.errors).toBeUndefined();
        return { n: queries.length, policies: r.body.data.agents.edges.flatMap((e: any) => e.node.policies).length };
      };
      const small = await count();
      for (let i = 0; i < 3; i++) {
        const a = await t.f.agent({ owner: owner.account, services: ['github'] });
        for (let j = 0; j < 5; j++) {
          const res = await api(`/agents/${a.id}/policies`, jsonRequest('POST', { name: `P ${j}`, service: 'github', effect: 'permit' }));
          expect(res.status).toBe(201);
        }
      }
      const large = await count();
      expect(large.policies).toBe(small.policies + 15);
      expect(large.n).toBe(small.n);
    });
  });
});
