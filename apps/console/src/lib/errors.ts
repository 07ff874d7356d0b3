import type { CombinedError } from 'urql';

/** The `Error` interface members every typed error of the schema carries. */
export interface TypedError {
  __typename: string;
  message: string;
  code?: string;
  field?: string | null;
}

/** Union results: anything whose __typename ends with `Error` is an expected, typed failure. */
export function asTypedError(result: { __typename?: string } | null | undefined): TypedError | null {
  if (!result || !result.__typename || !result.__typename.endsWith('Error')) return null;
  return result as TypedError;
}

/** Field errors keyed by the form field they belong to; `_form` holds the rest. */
export type FieldErrors = Record<string, string>;

/**
 * Maps a ValidationError's `field` (e.g. `timeWindow.hoursFrom`, `callerIps[1]`, `denyMessage`) to the
 * closest known form field, so the message lands next to the control that caused it.
 */
export function fieldErrorsFrom(error: TypedError | null, knownFields: readonly string[]): FieldErrors {
  if (!error) return {};
  // Input objects may be named in the path (`input.name`); the form knows fields by their own names.
  const field = (error.field ?? '').replace(/^input\./, '');
  const match = [...knownFields]
    .sort((a, b) => b.length - a.length)
    .find((known) => field === known || field.startsWith(`${known}.`) || field.startsWith(`${known}[`));
  return { [match ?? '_form']: error.message };
}

/** Human text for a transport or GraphQL error; never a stack trace. */
export function describeError(error: CombinedError | Error | unknown): string {
  if (error && typeof error === 'object' && 'graphQLErrors' in error) {
    const combined = error as CombinedError;
    if (combined.networkError) {
      return `Could not reach the Wicket API (${combined.networkError.message}). Is the server running?`;
    }
    const messages = combined.graphQLErrors.map((e) => e.message).filter(Boolean);
    if (messages.length) return messages.join(' ');
    return combined.message;
  }
  if (error instanceof Error) return error.message;
  return String(error);
}

/** The filter parameter a server-side validation error names, when it names one. */
export function errorParam(error: CombinedError | undefined): string | undefined {
  for (const e of error?.graphQLErrors ?? []) {
    const ext = e.extensions as Record<string, unknown> | undefined;
    const param = ext?.field ?? ext?.param;
    if (typeof param === 'string') return param;
  }
  return undefined;
}
