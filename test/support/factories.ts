import { randomUUID } from 'node:crypto';
import { repo, type AuditEntryInsert, type Database, type NewAuditEntryRow } from '@wicket/db';
import { Secrets, suffixOf } from '@wicket/core';

export const TEST_SECRET = 'test-server-secret-0123456789abcdef';

/** A complete audit row as the proxy's AuditWriter takes it (every column), with `over` replacing some. */
export function auditRowToWrite(agent: { id: string; name: string }, over: Partial<AuditEntryInsert> = {}): AuditEntryInsert {
  return {
    id: randomUUID(),
    timestamp: new Date(),
    agent_id: agent.id,
    agent_name: agent.name,
    member_id: null,
    member_name: '',
    member_key_id: null,
    session_id: null,
    service: 'github',
    tool: 'list_repositories',
    action: '',
    resource: '',
    caller_ip: null,
    tool_args: '{}',
    decision: 'ALLOW',
    reason: '',
    policy_id: null,
    matched_policy_ids: [],
    matched_policies: '[]',
    principal: '',
    duration_ms: null,
    completed_at: null,
    ...over,
  };
}
const secrets = new Secrets(TEST_SECRET);

/** Builds rows straight in the database, the way the product would have stored them. */
export function factories(database: Database) {
  const db = database.db;
  let n = 0;
  const next = () => ++n;

  return {
    async account(values: { email?: string; name?: string } = {}) {
      const i = next();
      return repo.insertAccount(db, { email: values.email ?? `user${i}-${randomUUID().slice(0, 6)}@example.com`, name: values.name ?? `User ${i}` });
    },

    /** An account with an API token; returns the clear token for Authorization headers. */
    async accountWithToken(values: { email?: string; name?: string } = {}) {
      const account = await this.account(values);
      const token = `wkt_test_${randomUUID().replace(/-/g, '')}`;
      await repo.insertApiToken(db, { accountId: account.id, name: 'test', digest: secrets.digest(token), suffix: suffixOf(token) });
      return { account, token, authorization: `Bearer ${token}` };
    },

    async connector(values: { service?: string; upstreamUrl?: string | null; namespace?: string; tools?: { name: string; tier?: string; sensitiveKeys?: string[] }[] } = {}) {
      const service = values.service ?? 'github';
      await repo.upsertConnector(db, {
        service,
        name: service,
        upstreamUrl: values.upstreamUrl ?? null,
        cedarNamespace: values.namespace ?? `${service[0].toUpperCase()}${service.slice(1)}MCP`,
      });
      await repo.replaceConnectorTools(
        db,
        service,
        (values.tools ?? [{ name: 'list_repositories' }, { name: 'create_issue', tier: 'write' }, { name: 'delete_file', tier: 'destructive' }]).map((t) => ({
          name: t.name,
          description: `${t.name} tool`,
          tier: t.tier ?? 'read',
          sensitiveKeys: t.sensitiveKeys ?? [],
          inputSchema: { type: 'object' },
        })),
      );
      return service;
    },

    async agent(values: { name?: string; status?: 'active' | 'disabled'; trustMode?: 'trusted' | 'untrusted'; timezone?: string; owner?: { id: string; email: string }; services?: string[] } = {}) {
      const agent = await repo.insertAgent(db, {
        name: values.name ?? `agent-${next()}`,
        status: values.status,
        trustMode: values.trustMode,
        timezone: values.timezone,
        createdBy: values.owner?.id ?? null,
      });
      if (values.owner) {
        await repo.insertMember(db, { agentId: agent.id, accountId: values.owner.id, role: 'owner', status: 'approved', displayName: 'Owner', email: values.owner.email });
      }
      for (const s of values.services ?? []) await repo.enableAgentService(db, agent.id, s);
      return agent;
    },

    async member(values: { agentId: string; account?: { id: string; email: string }; role?: 'owner' | 'member'; status?: 'pending' | 'approved' | 'rejected'; displayName?: string }) {
      const account = values.account ?? (await this.account());
      return repo.insertMember(db, {
        agentId: values.agentId,
        accountId: account.id,
        role: values.role ?? 'member',
        status: values.status ?? 'approved',
        displayName: values.displayName ?? `Member ${next()}`,
        email: account.email,
      });
    },

    /** A member key; returns the clear key for the proxy's Authorization header. */
    async memberKey(memberId: string) {
      const key = `wk_test_${randomUUID().replace(/-/g, '')}`;
      const row = await repo.insertMemberKey(db, { memberId, keyId: `mk_${randomUUID().slice(0, 12)}`, digest: secrets.digest(key), suffix: suffixOf(key) });
      return { key, keyId: row.key_id };
    },

    async auditEntries(rows: Partial<NewAuditEntryRow>[] & { agent_id?: string }[]) {
      const full = rows.map((r) => ({
        agent_id: r.agent_id!,
        agent_name: r.agent_name ?? 'agent',
        service: r.service ?? 'github',
        tool: r.tool ?? 'list_repositories',
        decision: r.decision ?? 'ALLOW',
        ...r,
        tool_args: r.tool_args === undefined ? '{}' : typeof r.tool_args === 'string' ? r.tool_args : JSON.stringify(r.tool_args),
        matched_policies: r.matched_policies === undefined ? '[]' : typeof r.matched_policies === 'string' ? r.matched_policies : JSON.stringify(r.matched_policies),
      })) as NewAuditEntryRow[];
      return repo.insertAuditEntries(db, full);
    },
  };
}

export type Factories = ReturnType<typeof factories>;
