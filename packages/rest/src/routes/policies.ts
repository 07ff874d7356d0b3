import { Hono } from 'hono';
import { z } from 'zod';
import type { Core } from '@wicket/core';
import type { RestEnv } from '../auth.ts';
import { validationErrorFromZod } from '../errors.ts';
import { serializePolicy, serializeReplay, serializeSimulation, serializeVersion } from '../serialize.ts';
import { jsonBody, uuid, validParams } from '../validation.ts';

/*
 * Policies and Simulate (spec §7), documented in docs/policies.md:
 *   GET  /agents/:id/policies             → {"policies": [policy…]}
 *   POST /agents/:id/policies             policy fields of spec §2 → 201 policy (version 1)
 *   GET  /policies/:id                    → policy with "versions" (newest first, each with its Cedar text)
 *   PUT  /policies/:id                    policy fields → policy (a new version when the content changed)
 *   POST /policies/:id/rollback           {"version": n} → policy (n's content as a new version)
 *   POST /policies/:id/toggle             → policy with enabled flipped
 *   POST /agents/:id/policies/simulate    {"mode": "call", …} or {"mode": "replay", …} (see below)
 * Owners only: anyone else gets 404, as for a missing agent or policy.
 */

const idParam = validParams(z.object({ id: uuid }));
/** The policy fields themselves are checked by core, which names the offending field. */
const policyBody = jsonBody(z.looseObject({}));
const rollbackBody = jsonBody(z.object({ version: z.number({ error: 'must be a version number' }).int('must be a whole version number') }));

const optionalText = z.string({ error: 'must be a string' }).nullish();
const jsonObject = (what: string) => z.record(z.string(), z.unknown(), { error: `must be a JSON object (${what})` }).nullish();

/**
 * Simulate body. `mode` defaults to "call".
 *   call:   {"mode": "call", "service", "tool", "memberId"?, "arguments"?: {…}, "time"?: ISO date-time,
 *            "callerIp"?, "draft"?: {policy fields}, "replacesPolicyId"?}
 *   replay: {"mode": "replay", "draft": {policy fields}, "replacesPolicyId"?, "from"?, "to"?}
 *           (the window defaults to the 24 hours before `to`, which defaults to now)
 */
const simulateBody = jsonBody(z.looseObject({ mode: z.enum(['call', 'replay'], { error: 'must be "call" or "replay"' }).optional() }));
const callBody = z.object({
  memberId: optionalText,
  service: z.string({ error: 'is required: the service key, e.g. github' }),
  tool: z.string({ error: 'is required: the tool name without the service prefix' }),
  arguments: jsonObject('tool arguments'),
  time: optionalText,
  callerIp: optionalText,
  draft: jsonObject('policy fields'),
  replacesPolicyId: optionalText,
});
const replayBody = z.object({
  draft: z.record(z.string(), z.unknown(), { error: 'is required: a JSON object with the policy fields' }),
  replacesPolicyId: optionalText,
  from: optionalText,
  to: optionalText,
});

function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw validationErrorFromZod(parsed.error, 'body');
  return parsed.data;
}

export function policyRoutes(core: Core) {
  return new Hono<RestEnv>()
    .get('/agents/:id/policies', idParam, async (c) => {
      const policies = await core.policies.list(c.var.access, c.req.valid('param').id);
      return c.json({ policies: policies.map(serializePolicy) });
    })
    .post('/agents/:id/policies', idParam, policyBody, async (c) => {
      const policy = await core.policies.create(c.var.access, c.req.valid('param').id, c.req.valid('json'));
      return c.json(serializePolicy(policy), 201);
    })
    .post('/agents/:id/policies/simulate', idParam, simulateBody, async (c) => {
      const agentId = c.req.valid('param').id;
      const body = c.req.valid('json');
      if (body.mode === 'replay') {
        const input = parseBody(replayBody, body);
        return c.json(serializeReplay(await core.simulate.replay(c.var.access, { ...input, agentId })));
      }
      const input = parseBody(callBody, body);
      return c.json(serializeSimulation(await core.simulate.call(c.var.access, { ...input, agentId })));
    })
    .get('/policies/:id', idParam, async (c) => {
      const { id } = c.req.valid('param');
      const policy = await core.policies.get(c.var.access, id);
      const versions = await core.policies.versions(c.var.access, id);
      return c.json({ ...serializePolicy(policy), versions: versions.map(serializeVersion) });
    })
    .put('/policies/:id', idParam, policyBody, async (c) => {
      return c.json(serializePolicy(await core.policies.save(c.var.access, c.req.valid('param').id, c.req.valid('json'))));
    })
    .post('/policies/:id/rollback', idParam, rollbackBody, async (c) => {
      const policy = await core.policies.rollback(c.var.access, c.req.valid('param').id, c.req.valid('json').version);
      return c.json(serializePolicy(policy));
    })
    .post('/policies/:id/toggle', idParam, async (c) => {
      return c.json(serializePolicy(await core.policies.toggle(c.var.access, c.req.valid('param').id)));
    });
}
