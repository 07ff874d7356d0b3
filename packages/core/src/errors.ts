/** Expected failures, each with a stable code. GraphQL maps them to union members, REST to a status. */
export abstract class AppError extends Error {
  abstract readonly code: string;
  abstract readonly status: 400 | 401 | 403 | 404 | 409 | 429 | 503;
  readonly param?: string;
  constructor(message: string, param?: string) {
    super(message);
    this.name = new.target.name;
    this.param = param;
  }
}

export class ValidationError extends AppError {
  readonly code = 'VALIDATION_FAILED';
  readonly status = 400;
  constructor(message: string, readonly field?: string) {
    super(message, field);
  }
}

export class UnauthenticatedError extends AppError {
  readonly code = 'UNAUTHENTICATED';
  readonly status = 401;
  constructor(message = 'authentication required: send Authorization: Bearer <API token> or sign in') {
    super(message);
  }
}

export class ForbiddenError extends AppError {
  readonly code = 'FORBIDDEN';
  readonly status = 403;
}

export class NotFoundError extends AppError {
  readonly code = 'NOT_FOUND';
  readonly status = 404;
  constructor(what: string, id?: string) {
    super(id ? `${what} ${id} was not found` : `${what} was not found`);
  }
}

export class ConflictError extends AppError {
  readonly code = 'CONFLICT';
  readonly status = 409;
}

export class RateLimitedError extends AppError {
  readonly code = 'RATE_LIMITED';
  readonly status = 429;
  constructor(message: string, readonly retryAfterSeconds: number) {
    super(message);
  }
}

export class UnavailableError extends AppError {
  readonly code = 'UNAVAILABLE';
  readonly status = 503;
}

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}
