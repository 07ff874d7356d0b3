import { Hono } from 'hono';
import { z } from 'zod';
import type { Core } from '@wicket/core';
import type { RestEnv } from '../auth.ts';
import { serializeMemberWithKey } from '../serialize.ts';
import { jsonBody, queryText, uuid, validParams, validQuery } from '../validation.ts';

const agentParams = z.object({ id: uuid });
const memberParams = z.object({ id: uuid, memberId: uuid });
// The REST contract approves or rejects; core also knows "pending", which this route does not offer.
const statusBody = z.object({ status: z.enum(['approved', 'rejected'], { error: 'must be "approved" or "rejected"' }) });

/** Members and keys of one agent (spec §7). Owners act on every member; a member only on their own key. */
export function memberRoutes(core: Core) {
  return new Hono<RestEnv>()
    .get('/agents/:id/members', validParams(agentParams), validQuery(z.object({ status: queryText })), async (c) => {
      const { id } = c.req.valid('param');
      // The list of an agent the caller cannot see is a missing object (404), not an empty list.
      c.var.access.assertVisible(id, 'agent', id);
      const members = await core.members.list(c.var.access, { agentId: id, status: c.req.valid('query').status });
      const keys = await core.members.activeKeys(members.map((m) => m.id));
      return c.json({ members: members.map((m, i) => serializeMemberWithKey(m, keys[i])) });
    })
    .put('/agents/:id/members/:memberId/status', validParams(memberParams), jsonBody(statusBody), async (c) => {
      const { id, memberId } = c.req.valid('param');
      const member = await core.members.setStatus(c.var.access, id, memberId, c.req.valid('json').status);
      const [key] = await core.members.activeKeys([member.id]);
      return c.json(serializeMemberWithKey(member, key));
    })
    .put('/agents/:id/members/:memberId/key', validParams(memberParams), async (c) => {
      const { id, memberId } = c.req.valid('param');
      const { key, keyId, suffix } = await core.members.rotateKey(c.var.access, id, memberId);
      // The only time the key is ever shown: keep it out of every cache.
      c.header('Cache-Control', 'no-store');
      return c.json({ key, keyId, suffix });
    })
    .delete('/agents/:id/members/:memberId/key', validParams(memberParams), async (c) => {
      const { id, memberId } = c.req.valid('param');
      const member = await core.members.revokeKey(c.var.access, id, memberId);
      return c.json(serializeMemberWithKey(member, null));
    });
}
