import type { Kysely } from 'kysely';
import { repo, type DB } from '@wicket/db';
import type { Access } from './access.ts';
import { recordActivity } from './activity.service.ts';
import { ValidationError } from './errors.ts';
import type { CoreEventBus } from './events.ts';

export interface AgentView {
  id: string;
  name: string;
  tags: string[];
  status: 'active' | 'disabled';
  trustMode: 'trusted' | 'untrusted';
  timezone: string;
  viewerRole: 'owner' | 'member';
  createdAt: Date;
  updatedAt: Date;
}

export type AgentSortBy = 'name' | 'status' | 'createdAt' | 'updatedAt';

export interface AgentListInput {
  search?: string | null;
  status?: string | null;
  role?: string | null;
  sortBy?: string | null;
  sortDir?: string | null;
  limit?: number | null;
  offset?: number | null;
  after?: string | null;
}

const SORT_COLUMNS: Record<AgentSortBy, 'name' | 'status' | 'created_at' | 'updated_at'> = {
  name: 'name',
  status: 'status',
  createdAt: 'created_at',
  updatedAt: 'updated_at',
};
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function toView(row: repo.AgentRow, access: Access): AgentView {
  return {
    id: row.id,
    name: row.name,
    tags: row.tags,
    status: row.status as AgentView['status'],
    trustMode: row.trust_mode as AgentView['trustMode'],
    timezone: row.timezone,
    viewerRole: access.roleOn(row.id) ?? 'member',
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function encodeAgentCursor(sortBy: AgentSortBy, row: repo.AgentRow): string {
  const col = SORT_COLUMNS[sortBy];
  const v = row[col] instanceof Date ? `d${(row[col] as Date).toISOString()}` : `s${row[col] as string}`;
  return Buffer.from(JSON.stringify([sortBy, v, row.id])).toString('base64url');
}

function decodeAgentCursor(cursor: string, sortBy: AgentSortBy): { value: string | Date; id: string } {
  try {
    const [s, v, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (s !== sortBy || typeof v !== 'string' || typeof id !== 'string' || !UUID.test(id)) throw new Error('bad');
    return { value: v.startsWith('d') ? new Date(v.slice(1)) : v.slice(1), id };
  } catch {
    throw new ValidationError('after is not a cursor of this list with this sort order', 'after');
  }
}

export class AgentsService {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly events: CoreEventBus,
  ) {}

  private parseList(input: AgentListInput) {
    const status = input.status ?? undefined;
    if (status !== undefined && status !== 'active' && status !== 'disabled') throw new ValidationError('status must be active or disabled', 'status');
    const role = input.role ?? undefined;
    if (role !== undefined && role !== 'owner' && role !== 'member') throw new ValidationError('role must be owner or member', 'role');
    const sortBy = (input.sortBy ?? 'name') as AgentSortBy;
    if (!(sortBy in SORT_COLUMNS)) throw new ValidationError(`sortBy must be one of ${Object.keys(SORT_COLUMNS).join(', ')}`, 'sortBy');
    const sortDir = (input.sortDir ?? 'asc').toLowerCase();
    if (sortDir !== 'asc' && sortDir !== 'desc') throw new ValidationError('sortDir must be asc or desc', 'sortDir');
    const limit = input.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new ValidationError('limit must be an integer from 1 to 500', 'limit');
    const offset = input.offset ?? 0;
    if (!Number.isInteger(offset) || offset < 0) throw new ValidationError('offset must be a non-negative integer', 'offset');
    const search = input.search?.trim() || undefined;
    if (search && search.length > 200) throw new ValidationError('search must be at most 200 characters', 'search');
    return { status, role, sortBy, sortDir: sortDir as 'asc' | 'desc', limit, offset, search };
  }

  async list(access: Access, input: AgentListInput): Promise<{ agents: AgentView[]; total: number; hasNextPage: boolean; cursors: string[] }> {
    const q = this.parseList(input);
    const agentIds = access.visibleAgentIds.filter((id) => !q.role || access.roleOn(id) === q.role);
    const after = input.after ? decodeAgentCursor(input.after, q.sortBy) : undefined;
    const [rows, total] = await Promise.all([
      repo.listAgents(this.db, {
        agentIds,
        search: q.search,
        status: q.status as 'active' | 'disabled' | undefined,
        sortBy: SORT_COLUMNS[q.sortBy],
        sortDir: q.sortDir,
        limit: q.limit + 1,
        offset: after ? undefined : q.offset,
        after,
      }),
      repo.countAgents(this.db, { agentIds, search: q.search, status: q.status as 'active' | 'disabled' | undefined }),
    ]);
    const page = rows.slice(0, q.limit);
    return {
      agents: page.map((r) => toView(r, access)),
      total,
      hasNextPage: rows.length > q.limit,
      cursors: page.map((r) => encodeAgentCursor(q.sortBy, r)),
    };
  }

  async get(access: Access, id: string): Promise<AgentView | null> {
    if (!UUID.test(id) || !access.roleOn(id)) return null;
    const row = await repo.findAgentById(this.db, id);
    return row ? toView(row, access) : null;
  }

  async getMany(access: Access, ids: readonly string[]): Promise<(AgentView | null)[]> {
    const rows = await repo.findAgentsByIds(this.db, ids.filter((id) => access.roleOn(id)));
    const byId = new Map(rows.map((r) => [r.id, toView(r, access)]));
    return ids.map((id) => byId.get(id) ?? null);
  }

  async enabledServices(agentIds: readonly string[]): Promise<string[][]> {
    const rows = await repo.listAgentServices(this.db, agentIds);
    return agentIds.map((id) => rows.filter((r) => r.agent_id === id).map((r) => r.service));
  }

  /** The emergency stop: `disabled` refuses the very next proxy call of every member. Owners only. */
  async setStatus(access: Access, id: string, status: string): Promise<AgentView> {
    if (status !== 'active' && status !== 'disabled') throw new ValidationError('status must be active or disabled', 'status');
    if (!UUID.test(id)) throw new ValidationError('id must be a UUID', 'id');
    access.assertOwner(id, 'agent', id);
    const row = await this.db.transaction().execute(async (trx) => {
      const before = await repo.findAgentById(trx, id);
      const after = await repo.updateAgentStatus(trx, id, status);
      if (!before || !after) return undefined;
      await recordActivity(trx, access.viewer, {
        action: 'agent.status.set',
        targetType: 'agent',
        targetId: id,
        agentId: id,
        before: { status: before.status },
        after: { status: after.status },
      });
      return after;
    });
    if (!row) throw new ValidationError('agent disappeared', 'id');
    this.events.emit('agent.changed', { agentId: id });
    return toView(row, access);
  }
}
