import { Hono } from 'hono';
import { z } from 'zod';
import type { Core } from '@wicket/core';
import type { RestEnv } from '../auth.ts';
import { serializeAgent } from '../serialize.ts';
import { jsonBody, queryInteger, queryText, uuid, validParams, validQuery } from '../validation.ts';

const listQuery = z.object({
  search: queryText,
  /** legacy alias of `search` */
  name: queryText,
  status: queryText,
  role: queryText,
  sortBy: queryText,
  sortDir: queryText,
  limit: queryInteger,
  offset: queryInteger,
});

const statusBody = z.object({ status: z.enum(['active', 'disabled'], { error: 'must be "active" or "disabled"' }) });

export function agentRoutes(core: Core) {
  return new Hono<RestEnv>()
    .get('/agents', validQuery(listQuery), async (c) => {
      const { search, name, ...rest } = c.req.valid('query');
      const input = { ...rest, search: search ?? name, limit: rest.limit ?? 50, offset: rest.offset ?? 0 };
      const page = await core.agents.list(c.var.access, input);
      const services = await core.agents.enabledServices(page.agents.map((a) => a.id));
      return c.json({
        agents: page.agents.map((a, i) => serializeAgent(a, services[i])),
        total: page.total,
        limit: input.limit,
        offset: input.offset,
        nextOffset: page.hasNextPage ? input.offset + input.limit : null,
      });
    })
    .put('/agents/:id/status', validParams(z.object({ id: uuid })), jsonBody(statusBody), async (c) => {
      const { id } = c.req.valid('param');
      const agent = await core.agents.setStatus(c.var.access, id, c.req.valid('json').status);
      const [services] = await core.agents.enabledServices([agent.id]);
      return c.json(serializeAgent(agent, services));
    });
}
