import type { Kysely } from 'kysely';
import { repo, type AuditScope, type DB } from '@wicket/db';
import { NotFoundError, UnauthenticatedError } from './errors.ts';

/** Who is asking: an account, authenticated by an API token or a console session. */
export interface Viewer {
  accountId: string;
  email: string;
  name: string;
  credential: { kind: 'token' | 'session'; id: string };
  /** Memberships read together with the credential (one round trip); loaded on demand otherwise. */
  memberships?: Membership[];
}

export interface Membership {
  memberId: string;
  agentId: string;
  role: 'owner' | 'member';
  status: 'pending' | 'approved' | 'rejected';
  trustMode: 'trusted' | 'untrusted';
}

/**
 * What a viewer may see and change (spec §2, Visibility). Every use case starts here: GraphQL, the
 * live stream, REST, export and the console all reach data through these checks and scopes.
 */
export class Access {
  readonly ownerAgentIds: string[];
  /** Member ids through which the viewer sees only their own entries (agents they do not own). */
  readonly ownMemberIds: string[];
  /** Agents on which the viewer is only a member and the agent is trusted: policy identities hidden. */
  private readonly hiddenPolicyAgents: Set<string>;
  private readonly byAgent: Map<string, Membership>;

  constructor(readonly viewer: Viewer, readonly memberships: Membership[]) {
    this.byAgent = new Map(memberships.map((m) => [m.agentId, m]));
    this.ownerAgentIds = memberships.filter((m) => m.role === 'owner').map((m) => m.agentId);
    const owned = new Set(this.ownerAgentIds);
    const asMember = memberships.filter((m) => m.role === 'member' && !owned.has(m.agentId));
    this.ownMemberIds = asMember.map((m) => m.memberId);
    this.hiddenPolicyAgents = new Set(asMember.filter((m) => m.trustMode === 'trusted').map((m) => m.agentId));
  }

  get auditScope(): AuditScope {
    return { ownerAgentIds: this.ownerAgentIds, memberIds: this.ownMemberIds };
  }

  /** Agents the viewer can see at all (as owner or member). */
  get visibleAgentIds(): string[] {
    return [...this.byAgent.keys()];
  }

  roleOn(agentId: string): 'owner' | 'member' | null {
    return this.byAgent.get(agentId)?.role ?? null;
  }

  membershipOn(agentId: string): Membership | undefined {
    return this.byAgent.get(agentId);
  }

  isOwner(agentId: string): boolean {
    return this.byAgent.get(agentId)?.role === 'owner';
  }

  hidesPoliciesOf(agentId: string): boolean {
    return this.hiddenPolicyAgents.has(agentId);
  }

  /** Owners change things; anyone else gets the same answer as for a missing object (404, not 403). */
  assertOwner(agentId: string, what: string, id: string): void {
    if (!this.isOwner(agentId)) throw new NotFoundError(what, id);
  }

  assertVisible(agentId: string, what: string, id: string): void {
    if (!this.byAgent.has(agentId)) throw new NotFoundError(what, id);
  }
}

export function toMemberships(rows: { member_id: string; agent_id: string; role: string; status: string; trust_mode: string }[]): Membership[] {
  return rows.map((r) => ({
    memberId: r.member_id,
    agentId: r.agent_id,
    role: r.role as Membership['role'],
    status: r.status as Membership['status'],
    trustMode: r.trust_mode as Membership['trustMode'],
  }));
}

export async function loadAccess(db: Kysely<DB>, viewer: Viewer | null): Promise<Access> {
  if (!viewer) throw new UnauthenticatedError();
  if (viewer.memberships) return new Access(viewer, viewer.memberships);
  const rows = await repo.listMembershipsOfAccount(db, viewer.accountId);
  return new Access(
    viewer,
    rows.map((r) => ({
      memberId: r.member_id,
      agentId: r.agent_id,
      role: r.role as Membership['role'],
      status: r.status as Membership['status'],
      trustMode: r.trust_mode as Membership['trustMode'],
    })),
  );
}
