import type { MiddlewareHandler } from 'hono';
import { zValidator } from '@hono/zod-validator';
import { z } from 'zod';
import { ValidationError } from '@wicket/core';
import { validationErrorFromZod } from './errors.ts';
import type { RestEnv } from './auth.ts';

/*
 * Transport-level parsing: query text → single strings and integers, path ids → UUIDs, bodies → JSON of
 * the documented shape (a body's enum is part of that shape). The query grammar (filters, list enums,
 * ranges) and visibility stay in core, shared with GraphQL, which names the parameter in its
 * ValidationError; both kinds of failure reach the client as the same 400.
 */

/** Query-string text: a repeated parameter is an error naming it; an empty value counts as absent. */
export const queryText = z.preprocess(
  (v) => (v === '' ? undefined : v),
  z.string({ error: 'must be given at most once' }).optional(),
);

/** Query-string integer (range checks are the use case's); empty counts as absent. */
export const queryInteger = z.preprocess(
  (v) => (v === '' ? undefined : v),
  z
    .string({ error: 'must be given at most once' })
    .trim()
    .regex(/^[+-]?\d{1,15}$/, 'must be an integer')
    .transform(Number)
    .optional(),
);

export const uuid = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'must be a UUID');

function throwOnFailure(fallbackParam: string) {
  return (result: { success: boolean; error?: unknown }) => {
    if (!result.success) throw validationErrorFromZod(result.error as z.ZodError, fallbackParam);
  };
}

/** Validates the query string; unknown parameters are dropped (legacy scripts send extras). */
export function validQuery<S extends z.ZodType>(schema: S) {
  return zValidator('query', schema, throwOnFailure('query'));
}

/** Validates path parameters (`:id` → param "id"). */
export function validParams<S extends z.ZodType>(schema: S) {
  return zValidator('param', schema, throwOnFailure('path'));
}

/**
 * Validates a JSON body; read as `c.req.valid('json')`. Unlike Hono's json validator this does not skip
 * bodies sent without `Content-Type: application/json` (as `curl -d` sends them): the body must parse as
 * JSON whatever the content type says, else 400 with param "body".
 */
export function jsonBody<S extends z.ZodType>(
  schema: S,
): MiddlewareHandler<RestEnv, string, { in: { json: z.input<S> }; out: { json: z.output<S> } }> {
  return async (c, next) => {
    const text = await c.req.text();
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = undefined;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ValidationError('body: the request body must be a JSON object', 'body');
    const parsed = schema.safeParse(value);
    if (!parsed.success) throw validationErrorFromZod(parsed.error, 'body');
    c.req.addValidatedData('json', parsed.data as object);
    await next();
  };
}
