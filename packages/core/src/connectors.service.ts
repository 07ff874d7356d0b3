import type { Kysely } from 'kysely';
import { repo, type DB } from '@wicket/db';
import type { Access } from './access.ts';
import type { Secrets } from './secrets.ts';

export interface ConnectorView {
  service: string;
  name: string;
  cedarNamespace: string;
  tools: { name: string; description: string; tier: 'read' | 'write' | 'destructive'; sensitiveKeys: string[]; inputSchema: unknown }[];
}

/** Connectors: upstream URL and credentials (sealed with the server key, never returned by an API). */
export class ConnectorsService {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly secrets: Secrets,
  ) {}

  async list(_access: Access): Promise<ConnectorView[]> {
    const [connectors, tools] = await Promise.all([repo.listConnectors(this.db), repo.listConnectorTools(this.db)]);
    return connectors.map((c) => ({
      service: c.service,
      name: c.name,
      cedarNamespace: c.cedar_namespace,
      tools: tools
        .filter((t) => t.service === c.service)
        .map((t) => ({ name: t.name, description: t.description, tier: t.tier as 'read', sensitiveKeys: t.sensitive_keys, inputSchema: t.input_schema })),
    }));
  }

  /** Installs or updates a connector and its catalog (seed, admin setup). */
  async upsert(input: {
    service: string;
    name: string;
    upstreamUrl: string | null;
    cedarNamespace: string;
    credentials?: string | null;
    tools: { name: string; description: string; tier: string; sensitiveKeys: string[]; inputSchema: unknown }[];
  }): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await repo.upsertConnector(trx, {
        service: input.service,
        name: input.name,
        upstreamUrl: input.upstreamUrl,
        cedarNamespace: input.cedarNamespace,
        credentialsEncrypted: input.credentials === undefined ? undefined : input.credentials === null ? null : this.secrets.encrypt(input.credentials),
      });
      await repo.replaceConnectorTools(trx, input.service, input.tools);
    });
  }

  async setUpstreamUrl(service: string, url: string): Promise<void> {
    await repo.updateConnectorUpstream(this.db, service, url);
  }

  /** For the proxy only: the upstream URL and the decrypted credentials. */
  async resolveUpstream(service: string): Promise<{ url: string | null; credentials: string | null } | null> {
    const c = await repo.findConnector(this.db, service);
    if (!c) return null;
    return { url: c.upstream_url, credentials: c.credentials_encrypted ? this.secrets.decrypt(c.credentials_encrypted) : null };
  }
}
