import type { Database } from '@wicket/db';
import { loadAccess, type Access, type Viewer } from './access.ts';
import { ActivityService } from './activity.service.ts';
import { AgentsService } from './agents.service.ts';
import { AuditService } from './audit/audit.service.ts';
import { AuditFeed, type AuditFeedOptions } from './audit/feed.ts';
import { AuthService, type SignInDelivery } from './auth.service.ts';
import { ConnectorsService } from './connectors.service.ts';
import { DecisionService } from './decision.service.ts';
import { CoreEventBus } from './events.ts';
import type { Logger } from './logger.ts';
import { MembersService } from './members.service.ts';
import { PoliciesService } from './policies.service.ts';
import { RetentionService } from './retention.service.ts';
import { Secrets } from './secrets.ts';
import { SimulateService } from './simulate.service.ts';

export interface CoreOptions {
  database: Database;
  logger: Logger;
  serverSecret: string;
  delivery?: SignInDelivery;
  /** Live audit stream tuning (intervals, batch size); defaults suit production. */
  feed?: AuditFeedOptions;
}

/** The use cases, built once per process and shared by GraphQL, REST, the proxy and the live stream. */
export function createCore(options: CoreOptions) {
  const { database, logger } = options;
  const db = database.db;
  const secrets = new Secrets(options.serverSecret);
  const events = new CoreEventBus();
  const delivery: SignInDelivery = options.delivery ?? {
    async deliver(email, code) {
      // No SMTP configured: the code goes to the server log (spec §2), with its purpose spelled out.
      logger.info({ event: 'sign_in_code', email }, `sign-in code for ${email}: ${code} (valid 10 minutes)`);
    },
  };
  const decisions = new DecisionService(db);
  const auth = new AuthService(db, secrets, logger, delivery);
  const audit = new AuditService(db);
  // The live audit stream: one per process; the app starts and stops it with the server.
  // Open sockets re-check what the account may see: always from the database, never the memberships
  // read together with the credential when the socket was opened.
  const feed = new AuditFeed({ database, audit, auth, events, logger, loadAccess: (viewer) => loadAccess(db, { ...viewer, memberships: undefined }) }, options.feed);
  return {
    database,
    db,
    logger,
    secrets,
    events,
    access: (viewer: Viewer | null): Promise<Access> => loadAccess(db, viewer),
    auth,
    audit,
    feed,
    agents: new AgentsService(db, events),
    members: new MembersService(db, secrets, events),
    connectors: new ConnectorsService(db, secrets),
    activity: new ActivityService(db),
    policies: new PoliciesService(db, events),
    decisions,
    simulate: new SimulateService(db, decisions),
    retention: new RetentionService(db),
  };
}

export type Core = ReturnType<typeof createCore>;
