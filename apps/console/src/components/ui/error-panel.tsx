'use client';

import type { ReactNode } from 'react';
import { describeError } from '@/lib/errors';

/** What went wrong, in words, with a way to try again. Shared by error.tsx files and inline failures. */
export function ErrorPanel({
  title = 'Something went wrong',
  error,
  onRetry,
  children,
}: {
  title?: string;
  error?: unknown;
  onRetry?: () => void;
  children?: ReactNode;
}) {
  return (
    <div className="error-panel" role="alert" data-testid="error-panel">
      <p className="error-title">{title}</p>
      {error !== undefined ? <p className="error-message" data-testid="error-message">{describeError(error)}</p> : null}
      {children}
      {onRetry ? (
        <button type="button" className="btn" onClick={onRetry} data-testid="error-retry">
          Try again
        </button>
      ) : null}
    </div>
  );
}

export function FieldError({ message, id, testId }: { message?: string; id?: string; testId?: string }) {
  if (!message) return null;
  return (
    <p className="field-error" id={id} role="alert" data-testid={testId ?? 'field-error'}>
      {message}
    </p>
  );
}
