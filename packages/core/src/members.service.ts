import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { repo, type DB } from '@wicket/db';
import type { Access } from './access.ts';
import { recordActivity } from './activity.service.ts';
import { NotFoundError, ValidationError } from './errors.ts';
import type { CoreEventBus } from './events.ts';
import { Secrets, suffixOf } from './secrets.ts';

export interface MemberView {
  id: string;
  agentId: string;
  agentName: string;
  accountId: string;
  role: 'owner' | 'member';
  status: 'pending' | 'approved' | 'rejected';
  displayName: string;
  email: string;
  createdAt: Date;
}

export interface MemberKeyInfo {
  keyId: string;
  suffix: string;
  createdAt: Date;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function toView(row: repo.MemberRow & { agent_name: string }): MemberView {
  return {
    id: row.id,
    agentId: row.agent_id,
    agentName: row.agent_name,
    accountId: row.account_id,
    role: row.role as MemberView['role'],
    status: row.status as MemberView['status'],
    displayName: row.display_name,
    email: row.email,
    createdAt: row.created_at,
  };
}

export class MembersService {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly secrets: Secrets,
    private readonly events: CoreEventBus,
  ) {}

  /** Owners see every member of their agents; a member sees only their own membership. */
  async list(access: Access, q: { agentId?: string | null; status?: string | null } = {}): Promise<MemberView[]> {
    if (q.status && !['pending', 'approved', 'rejected'].includes(q.status)) throw new ValidationError('status must be pending, approved or rejected', 'status');
    if (q.agentId && !UUID.test(q.agentId)) throw new ValidationError('agentId must be a UUID', 'agentId');
    let agentIds = access.ownerAgentIds;
    let memberIds = access.ownMemberIds;
    if (q.agentId) {
      agentIds = agentIds.filter((id) => id === q.agentId);
      const own = access.membershipOn(q.agentId);
      memberIds = own && !access.isOwner(q.agentId) ? [own.memberId] : [];
    }
    const rows = await repo.listMembers(this.db, { agentIds, memberIds, status: q.status ?? undefined });
    return rows.map(toView);
  }

  async get(access: Access, memberId: string): Promise<MemberView> {
    if (!UUID.test(memberId)) throw new ValidationError('memberId must be a UUID', 'memberId');
    const row = await repo.findMemberById(this.db, memberId);
    if (!row || !(access.isOwner(row.agent_id) || access.ownMemberIds.includes(row.id))) throw new NotFoundError('member', memberId);
    return toView(row);
  }

  async activeKeys(memberIds: readonly string[]): Promise<(MemberKeyInfo | null)[]> {
    const rows = await repo.listActiveMemberKeys(this.db, memberIds);
    const byMember = new Map(rows.map((r) => [r.member_id, { keyId: r.key_id, suffix: r.suffix, createdAt: r.created_at }]));
    return memberIds.map((id) => byMember.get(id) ?? null);
  }

  private async memberOfAgent(access: Access, agentId: string, memberId: string, ownerOnly: boolean) {
    if (!UUID.test(agentId)) throw new ValidationError('agentId must be a UUID', 'agentId');
    if (!UUID.test(memberId)) throw new ValidationError('memberId must be a UUID', 'memberId');
    const row = await repo.findMemberById(this.db, memberId);
    const mayAct = access.isOwner(agentId) || (!ownerOnly && access.ownMemberIds.includes(memberId));
    if (!row || row.agent_id !== agentId || !mayAct) throw new NotFoundError('member', memberId);
    return row;
  }

  /** Approve or reject a membership (owners). */
  async setStatus(access: Access, agentId: string, memberId: string, status: string): Promise<MemberView> {
    if (!['approved', 'rejected', 'pending'].includes(status)) throw new ValidationError('status must be approved or rejected', 'status');
    const before = await this.memberOfAgent(access, agentId, memberId, true);
    if (before.role === 'owner' && status !== 'approved') throw new ValidationError('an owner membership cannot be rejected', 'status');
    await this.db.transaction().execute(async (trx) => {
      await repo.updateMemberStatus(trx, memberId, status);
      await recordActivity(trx, access.viewer, {
        action: 'member.status.set',
        targetType: 'member',
        targetId: memberId,
        agentId,
        before: { status: before.status },
        after: { status },
      });
    });
    this.events.emit('member.changed', { agentId, memberId });
    return this.get(access, memberId);
  }

  /**
   * Creates or rotates the member's key: the old key stops working in the same transaction. The key
   * is returned this once; only its HMAC digest, id and a short suffix are stored.
   */
  async rotateKey(access: Access, agentId: string, memberId: string): Promise<{ key: string; keyId: string; suffix: string; member: MemberView }> {
    await this.memberOfAgent(access, agentId, memberId, false);
    const keyId = `mk_${randomBytes(6).toString('hex')}`;
    const key = this.secrets.generate('wk_', 32);
    const suffix = suffixOf(key);
    await this.db.transaction().execute(async (trx) => {
      const revoked = await repo.revokeMemberKeys(trx, memberId);
      await repo.insertMemberKey(trx, { memberId, keyId, digest: this.secrets.digest(key), suffix });
      await recordActivity(trx, access.viewer, {
        action: revoked ? 'member.key.rotated' : 'member.key.created',
        targetType: 'member',
        targetId: memberId,
        agentId,
        after: { keyId, suffix },
      });
    });
    this.events.emit('member.changed', { agentId, memberId });
    return { key, keyId, suffix, member: await this.get(access, memberId) };
  }

  async revokeKey(access: Access, agentId: string, memberId: string): Promise<MemberView> {
    await this.memberOfAgent(access, agentId, memberId, false);
    await this.db.transaction().execute(async (trx) => {
      const n = await repo.revokeMemberKeys(trx, memberId);
      if (n === 0) throw new NotFoundError('active key of member', memberId);
      await recordActivity(trx, access.viewer, { action: 'member.key.revoked', targetType: 'member', targetId: memberId, agentId });
    });
    this.events.emit('member.changed', { agentId, memberId });
    return this.get(access, memberId);
  }
}
