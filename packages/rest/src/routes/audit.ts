import { Hono } from 'hono';
import { z } from 'zod';
import type { Core } from '@wicket/core';
import type { RestEnv } from '../auth.ts';
import { auditEntriesToCsv, auditExportFileName } from '../csv.ts';
import { serializeAuditEntry, serializeMember } from '../serialize.ts';
import { queryInteger, queryText, validQuery } from '../validation.ts';

/** The filter of spec §6 (plus agentId) and offset paging; core parses and checks every value. */
const auditQuery = z.object({
  result: queryText,
  service: queryText,
  tool: queryText,
  agent: queryText,
  member: queryText,
  policy: queryText,
  from: queryText,
  to: queryText,
  agentId: queryText,
  limit: queryInteger,
  offset: queryInteger,
});

const membersQuery = z.object({ agentId: queryText, status: queryText });

export function auditRoutes(core: Core) {
  return new Hono<RestEnv>()
    .get('/audit', validQuery(auditQuery), async (c) => {
      const { limit, offset, ...filter } = c.req.valid('query');
      const page = await core.audit.listByOffset(c.var.access, filter, { limit, offset });
      return c.json({ entries: page.entries.map(serializeAuditEntry), limit: page.limit, offset: page.offset, nextOffset: page.nextOffset });
    })
    .get('/audit/export', validQuery(auditQuery), async (c) => {
      const { limit, offset, ...filter } = c.req.valid('query');
      const page = await core.audit.listByOffset(c.var.access, filter, { limit, offset });
      const headers: Record<string, string> = {
        'Content-Type': 'text/csv; charset=utf-8',
        'Content-Disposition': `attachment; filename="${auditExportFileName(new Date())}"`,
        'Cache-Control': 'no-store',
      };
      // Absent on the last page: a script loops while the header is there.
      if (page.nextOffset !== null) headers['X-Next-Offset'] = String(page.nextOffset);
      return c.body(auditEntriesToCsv(page.entries), 200, headers);
    })
    .get('/audit/members', validQuery(membersQuery), async (c) => {
      const members = await core.members.list(c.var.access, c.req.valid('query'));
      return c.json({ members: members.map(serializeMember) });
    });
}
