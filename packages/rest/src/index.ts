import { Hono } from 'hono';
import type { Core } from '@wicket/core';
import { authenticate, type RestEnv } from './auth.ts';
import { restErrorHandler } from './errors.ts';
import { agentRoutes } from './routes/agents.ts';
import { auditRoutes } from './routes/audit.ts';
import { memberRoutes } from './routes/members.ts';
import { policyRoutes } from './routes/policies.ts';

/**
 * The REST compatibility facade (spec §7, docs/rest-api.md), mounted by the server at /api.
 * Each route parses its input, calls one core use case with the caller's Access, and serialises.
 *
 * Writing another route module (e.g. routes/policies.ts) so it behaves like the others:
 * - return a `new Hono<RestEnv>()`; `authenticate` below runs before every route of this app, so
 *   `c.var.access` (or `accessOf(c)`) is the caller's Access: do not authenticate again;
 * - validate with `validQuery`, `validParams`, `jsonBody` (./validation.ts) and the `queryText`,
 *   `queryInteger`, `uuid` building blocks: a failure is a 400 naming the parameter;
 * - throw core errors (or let core throw them): `restErrorHandler` maps them once to a status and
 *   `{"error":{"code","message","param"}}`, and logs and masks anything else as 500;
 * - add the JSON shape of a new object to ./serialize.ts.
 * Import these from their modules (not from this file) to keep imports acyclic.
 */
export function createRestApi(core: Core): Hono<RestEnv> {
  const api = new Hono<RestEnv>();
  api.onError(restErrorHandler(core.logger));
  api.use('*', authenticate(core));
  api.route('/', auditRoutes(core));
  api.route('/', agentRoutes(core));
  api.route('/', memberRoutes(core));
  api.route('/', policyRoutes(core));
  return api;
}

export { accessOf, authenticate, type RestEnv } from './auth.ts';
export { restErrorHandler, toRestError, validationErrorFromZod, type RestErrorBody } from './errors.ts';
export { jsonBody, queryInteger, queryText, uuid, validParams, validQuery } from './validation.ts';
export { AUDIT_CSV_COLUMNS, auditEntriesToCsv, neutralizeFormula } from './csv.ts';
