import type { Context, ErrorHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { isAppError, RateLimitedError, ValidationError, type Logger } from '@wicket/core';

/** The one error shape of the REST facade (spec §7). `param` names the offending parameter, else null. */
export interface RestErrorBody {
  error: { code: string; message: string; param: string | null };
}

/** A zod failure as a core ValidationError naming the first offending field (`fallbackParam` for the whole value). */
export function validationErrorFromZod(error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }, fallbackParam: string): ValidationError {
  const issue = error.issues[0];
  const head = issue?.path[0];
  const param = typeof head === 'string' || typeof head === 'number' ? String(head) : fallbackParam;
  return new ValidationError(`${param}: ${issue?.message ?? 'invalid value'}`, param);
}

const CODE_BY_STATUS: Record<number, string> = {
  400: 'VALIDATION_FAILED',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  429: 'RATE_LIMITED',
  503: 'UNAVAILABLE',
};

/**
 * Maps any thrown value to a status and body, once, for every REST route: core AppErrors keep their
 * status, code and param; Hono's own HTTP exceptions keep their status; anything else is logged here
 * and masked as 500 INTERNAL.
 */
export function toRestError(err: unknown, logger: Logger, request?: { method: string; path: string }): { status: ContentfulStatusCode; body: RestErrorBody; headers: Record<string, string> } {
  if (isAppError(err)) {
    const headers: Record<string, string> = err instanceof RateLimitedError ? { 'Retry-After': String(err.retryAfterSeconds) } : {};
    return { status: err.status, body: { error: { code: err.code, message: err.message, param: err.param ?? null } }, headers };
  }
  if (err instanceof HTTPException && err.status < 500) {
    const status = err.status as ContentfulStatusCode;
    return { status, body: { error: { code: CODE_BY_STATUS[status] ?? 'BAD_REQUEST', message: err.message || 'bad request', param: null } }, headers: {} };
  }
  logger.error({ err, ...request }, 'unexpected error in the REST API');
  return { status: 500, body: { error: { code: 'INTERNAL', message: 'internal error', param: null } }, headers: {} };
}

/** Hono `onError` for the REST app (sub-apps mounted into it inherit it through `app.route`). */
export function restErrorHandler(logger: Logger): ErrorHandler {
  return (err: unknown, c: Context) => {
    const { status, body, headers } = toRestError(err, logger, { method: c.req.method, path: c.req.path });
    return c.json(body, status, headers);
  };
}
