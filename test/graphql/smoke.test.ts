import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.ts';

describe('server basics', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t?.close());

  it('answers /healthz once migrated', async () => {
    const res = await t.request('/healthz');
    expect(res.status).toBe(200);
  });

  it('refuses GraphQL without credentials with 401', async () => {
    const r = await t.graphql('{ viewer { account { email } } }');
    expect(r.status).toBe(401);
    expect(r.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('lets an API token read the viewer and an owner read an entry', async () => {
    const { account, token } = await t.f.accountWithToken({ email: 'owner@example.com' });
    const agent = await t.f.agent({ name: 'billing-bot', owner: account });
    const [e] = await t.f.auditEntries([{ agent_id: agent.id, agent_name: agent.name, decision: 'DENY', tool: 'delete_file' }]);
    const r = await t.graphql<any>(
      `query($id: ID!) { viewer { account { email } } auditEntry(id: $id) { id decision tool agentName } auditEntries(first: 5) { edges { cursor node { id } } pageInfo { hasNextPage } } }`,
      { id: e.id },
      token,
    );
    expect(r.status).toBe(200);
    expect(r.body.errors).toBeUndefined();
    expect(r.body.data.viewer.account.email).toBe('owner@example.com');
    expect(r.body.data.auditEntry).toMatchObject({ id: e.id, decision: 'DENY', tool: 'delete_file', agentName: 'billing-bot' });
    expect(r.body.data.auditEntries.edges.map((x: any) => x.node.id)).toEqual([e.id]);
  });
});
