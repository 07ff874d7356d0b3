'use client';

import { useState, type FormEvent } from 'react';
import { useMutation } from 'urql';
import { graphql } from '@/graphql';
import { FieldError } from '@/components/ui/error-panel';
import { asTypedError, describeError } from '@/lib/errors';
import { safeNextPath } from '@/lib/session';

const SignInForm_RequestCode = graphql(`
  mutation SignInForm_RequestCode($email: String!) {
    requestSignInCode(email: $email) {
      __typename
      ... on SignInCodePayload {
        ok
      }
      ... on ValidationError {
        message
        code
        field
      }
    }
  }
`);

const SignInForm_SignIn = graphql(`
  mutation SignInForm_SignIn($email: String!, $code: String!) {
    signIn(email: $email, code: $code) {
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

export function SignInForm({ next }: { next: string | null }) {
  const [step, setStep] = useState<'email' | 'code'>('email');
  const [email, setEmail] = useState('');
  const [code, setCode] = useState('');
  const [errors, setErrors] = useState<{ email?: string; code?: string; form?: string }>({});
  const [requestState, requestCode] = useMutation(SignInForm_RequestCode);
  const [signInState, signIn] = useMutation(SignInForm_SignIn);
  const destination = safeNextPath(next);

  const onRequest = async (event: FormEvent) => {
    event.preventDefault();
    const trimmed = email.trim();
    if (!/^[^\s@]+@[^\s@]+$/.test(trimmed)) {
      setErrors({ email: 'Enter the email address of your Wicket account.' });
      return;
    }
    setErrors({});
    const result = await requestCode({ email: trimmed });
    const typed = asTypedError(result.data?.requestSignInCode);
    if (result.error) setErrors({ form: describeError(result.error) });
    else if (typed) setErrors({ email: typed.message });
    else setStep('code');
  };

  const onSignIn = async (event: FormEvent) => {
    event.preventDefault();
    if (!code.trim()) {
      setErrors({ code: 'Enter the code from the email (or the server log).' });
      return;
    }
    setErrors({});
    const result = await signIn({ email: email.trim(), code: code.trim() });
    if (result.error) {
      setErrors({ form: describeError(result.error) });
      return;
    }
    const typed = asTypedError(result.data?.signIn);
    if (typed) {
      setErrors(typed.field === 'email' ? { email: typed.message } : { code: typed.message });
      return;
    }
    // A full load: the new session cookie applies to every request and no signed-out data lingers.
    window.location.assign(destination);
  };

  return (
    <div className="card narrow" data-testid="sign-in">
      <h1>Sign in</h1>
      {next ? (
        <p className="notice" data-testid="sign-in-next-notice">
          Your session has ended or you are not signed in. Sign in to continue to <code>{destination}</code>.
        </p>
      ) : null}
      {step === 'email' ? (
        <form onSubmit={onRequest} className="stack" noValidate data-testid="sign-in-email-form">
          <div className="field">
            <label htmlFor="sign-in-email">Email</label>
            <input
              id="sign-in-email"
              name="email"
              type="email"
              autoComplete="email"
              autoFocus
              value={email}
              onChange={(e) => setEmail(e.target.value)}
              aria-invalid={Boolean(errors.email)}
              aria-describedby={errors.email ? 'sign-in-email-error' : undefined}
              data-testid="sign-in-email"
            />
            <FieldError id="sign-in-email-error" message={errors.email} testId="sign-in-email-error" />
          </div>
          <p className="muted small">We send a one-time code to this address. Without SMTP configured, the server prints it in its log.</p>
          <FieldError message={errors.form} testId="sign-in-error" />
          <button type="submit" className="btn btn-primary" disabled={requestState.fetching} data-testid="sign-in-request-code">
            {requestState.fetching ? 'Sending…' : 'Send code'}
          </button>
        </form>
      ) : (
        <form onSubmit={onSignIn} className="stack" noValidate data-testid="sign-in-code-form">
          <p>
            If <strong>{email}</strong> has an account, a code is on its way.
          </p>
          <div className="field">
            <label htmlFor="sign-in-code">One-time code</label>
            <input
              id="sign-in-code"
              name="code"
              inputMode="numeric"
              autoComplete="one-time-code"
              autoFocus
              value={code}
              onChange={(e) => setCode(e.target.value)}
              aria-invalid={Boolean(errors.code)}
              aria-describedby={errors.code ? 'sign-in-code-error' : undefined}
              data-testid="sign-in-code"
            />
            <FieldError id="sign-in-code-error" message={errors.code ?? errors.email} testId="sign-in-code-error" />
          </div>
          <FieldError message={errors.form} testId="sign-in-error" />
          <div className="row">
            <button type="submit" className="btn btn-primary" disabled={signInState.fetching} data-testid="sign-in-submit">
              {signInState.fetching ? 'Signing in…' : 'Sign in'}
            </button>
            <button
              type="button"
              className="btn btn-ghost"
              onClick={() => {
                setStep('email');
                setCode('');
                setErrors({});
              }}
              data-testid="sign-in-change-email"
            >
              Use another email
            </button>
          </div>
        </form>
      )}
    </div>
  );
}
