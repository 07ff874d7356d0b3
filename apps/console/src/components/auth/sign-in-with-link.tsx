'use client';

import Link from 'next/link';
import { useEffect, useState } from 'react';
import { useClient } from 'urql';
import { graphql } from '@/graphql';
import { asTypedError, describeError } from '@/lib/errors';
import { safeNextPath } from '@/lib/session';

const SignInWithLink_SignIn = graphql(`
  mutation SignInWithLink_SignIn($token: String!) {
    signInWithLink(token: $token) {
      __typename
      ... on SignInPayload {
        account {
          id
          email
        }
      }
      ... on ValidationError {
        message
        code
        field
      }
    }
  }
`);

// The token works once; React's development double-mount must not spend it twice.
const attempts = new Map<string, Promise<string | null>>();

export function SignInWithLink({ token, next }: { token: string; next: string | null }) {
  const client = useClient();
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let attempt = attempts.get(token);
    if (!attempt) {
      attempt = client
        .mutation(SignInWithLink_SignIn, { token })
        .toPromise()
        .then((result) => {
          if (result.error) return describeError(result.error);
          const typed = asTypedError(result.data?.signInWithLink);
          return typed ? typed.message : null;
        });
      attempts.set(token, attempt);
    }
    let active = true;
    attempt.then((message) => {
      if (!active) return;
      if (message) setError(message);
      else window.location.assign(safeNextPath(next));
    });
    return () => {
      active = false;
    };
  }, [client, token, next]);

  return (
    <div className="card narrow" data-testid="sign-in-link">
      <h1>Sign in</h1>
      {error ? (
        <>
          <p className="field-error" role="alert" data-testid="sign-in-link-error">
            This sign-in link did not work: {error}
          </p>
          <p className="muted">Links work once and expire. Sign in with your email instead.</p>
          <Link className="btn btn-primary" href={next ? `/sign-in?next=${encodeURIComponent(next)}` : '/sign-in'}>
            Sign in with email
          </Link>
        </>
      ) : (
        <p role="status" data-testid="sign-in-link-pending">
          Signing you in…
        </p>
      )}
    </div>
  );
}
