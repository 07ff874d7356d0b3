import type { Kysely, Selectable } from 'kysely';
import type { ConnectorTools, Connectors, DB } from '../types.ts';

type Db = Kysely<DB>;
export type ConnectorRow = Selectable<Connectors>;
export type ConnectorToolRow = Selectable<ConnectorTools>;

export async function listConnectors(db: Db): Promise<ConnectorRow[]> {
  return db.selectFrom('connectors').selectAll().orderBy('service').execute();
}

export async function findConnector(db: Db, service: string): Promise<ConnectorRow | undefined> {
  return db.selectFrom('connectors').selectAll().where('service', '=', service).executeTakeFirst();
}

export async function listConnectorTools(db: Db, services?: readonly string[]): Promise<ConnectorToolRow[]> {
  let q = db.selectFrom('connector_tools').selectAll();
  if (services) {
    if (services.length === 0) return [];
    q = q.where('service', 'in', services as string[]);
  }
  return q.orderBy('service').orderBy('name').execute();
}

export async function upsertConnector(
  db: Db,
  values: { service: string; name: string; upstreamUrl: string | null; cedarNamespace: string; credentialsEncrypted?: string | null },
): Promise<void> {
  await db
    .insertInto('connectors')
    .values({
      service: values.service,
      name: values.name,
      upstream_url: values.upstreamUrl,
      cedar_namespace: values.cedarNamespace,
      credentials_encrypted: values.credentialsEncrypted ?? null,
    })
    .onConflict((oc) =>
      oc.column('service').doUpdateSet({
        name: values.name,
        upstream_url: values.upstreamUrl,
        cedar_namespace: values.cedarNamespace,
        ...(values.credentialsEncrypted !== undefined ? { credentials_encrypted: values.credentialsEncrypted } : {}),
        updated_at: new Date(),
      }),
    )
    .execute();
}

export async function updateConnectorUpstream(db: Db, service: string, upstreamUrl: string): Promise<void> {
  await db.updateTable('connectors').set({ upstream_url: upstreamUrl, updated_at: new Date() }).where('service', '=', service).execute();
}

export async function replaceConnectorTools(
  db: Db,
  service: string,
  tools: { name: string; description: string; tier: string; sensitiveKeys: string[]; inputSchema: unknown }[],
): Promise<void> {
  await db.deleteFrom('connector_tools').where('service', '=', service).execute();
  if (tools.length === 0) return;
  await db
    .insertInto('connector_tools')
    .values(
      tools.map((t) => ({
        service,
        name: t.name,
        description: t.description,
        tier: t.tier,
        sensitive_keys: t.sensitiveKeys,
        input_schema: JSON.stringify(t.inputSchema),
      })),
    )
    .execute();
}
