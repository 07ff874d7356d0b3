import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.ts';

/** Console sign-in: email + one-time code (or the start-up link) → httpOnly session cookie. */
describe('sign-in and sessions', () => {
  let t: TestApp;
  const sent: { email: string; code: string }[] = [];
  let accountId: string;

  beforeAll(async () => {
    t = await startTestApp({ delivery: { deliver: async (email, code) => void sent.push({ email, code }) } });
    const account = await t.f.account({ email: 'Admin@Example.com' });
    accountId = account.id;
    await t.f.agent({ name: 'mine', owner: account });
  });
  afterAll(async () => t?.close());

  const gql = async (query: string, variables: Record<string, unknown> = {}, cookie?: string) => {
    const res = await t.request('/graphql', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...(cookie ? { Cookie: cookie } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    return { res, body: (await res.json()) as any };
  };

  it('a code sent to the email signs in once and sets an httpOnly cookie that authenticates GraphQL and REST', async () => {
    const req = await gql(`mutation($e: String!) { requestSignInCode(email: $e) { __typename ... on SignInCodePayload { ok } } }`, { e: 'admin@example.com' });
    expect(req.body.data.requestSignInCode).toEqual({ __typename: 'SignInCodePayload', ok: true });
    expect(sent).toHaveLength(1);
    expect(sent[0].code).toMatch(/^\d{6}$/);
    // Nothing stored in clear.
    const stored = await t.testDb.database.db.selectFrom('sign_in_codes').selectAll().execute();
    expect(JSON.stringify(stored)).not.toContain(sent[0].code);

    const wrong = await gql(`mutation($e: String!, $c: String!) { signIn(email: $e, code: $c) { __typename ... on ValidationError { field } } }`, {
      e: 'admin@example.com',
      c: sent[0].code === '000000' ? '111111' : '000000',
    });
    expect(wrong.body.data.signIn).toEqual({ __typename: 'ValidationError', field: 'code' });
    expect(wrong.res.headers.get('set-cookie')).toBeNull();

    const ok = await gql(`mutation($e: String!, $c: String!) { signIn(email: $e, code: $c) { __typename ... on SignInPayload { account { id } } } }`, {
      e: 'admin@example.com',
      c: sent[0].code,
    });
    expect(ok.body.data.signIn).toEqual({ __typename: 'SignInPayload', account: { id: accountId } });
    const setCookie = ok.res.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/^wicket_session=wks_[\w-]+;/);
    expect(setCookie).toContain('HttpOnly');
    const cookie = setCookie.split(';')[0];

    const viewer = await gql(`{ viewer { account { email } } }`, {}, cookie);
    expect(viewer.body.data.viewer.account.email).toBe('Admin@Example.com');
    const rest = await t.request('/api/agents', { headers: { Cookie: cookie } });
    expect(rest.status).toBe(200);

    // The same code does not work twice.
    const again = await gql(`mutation($e: String!, $c: String!) { signIn(email: $e, code: $c) { __typename } }`, { e: 'admin@example.com', c: sent[0].code });
    expect(again.body.data.signIn.__typename).toBe('ValidationError');

    // Signing out ends the session everywhere.
    const out = await gql(`mutation { signOut { ok } }`, {}, cookie);
    expect(out.body.data.signOut.ok).toBe(true);
    expect(out.res.headers.get('set-cookie')).toContain('Max-Age=0');
    const after = await gql(`{ viewer { account { email } } }`, {}, cookie);
    expect(after.res.status).toBe(401);
  });

  it('an unknown email is answered the same way and sends nothing', async () => {
    const before = sent.length;
    const r = await gql(`mutation { requestSignInCode(email: "nobody@example.com") { __typename ... on SignInCodePayload { ok } } }`);
    expect(r.body.data.requestSignInCode.ok).toBe(true);
    expect(sent.length).toBe(before);
  });

  it('guessing stops after five wrong codes even with the right one', async () => {
    await gql(`mutation { requestSignInCode(email: "admin@example.com") { __typename } }`);
    const code = sent[sent.length - 1].code;
    for (let i = 0; i < 5; i++) {
      const guess = String((Number(code) + 1 + i) % 1_000_000).padStart(6, '0');
      await gql(`mutation($c: String!) { signIn(email: "admin@example.com", code: $c) { __typename } }`, { c: guess });
    }
    const r = await gql(`mutation($c: String!) { signIn(email: "admin@example.com", code: $c) { __typename } }`, { c: code });
    expect(r.body.data.signIn.__typename).toBe('ValidationError');
  });

  it('the one-time start-up link signs in once', async () => {
    const token = await t.app.core.auth.createSignInLink(accountId);
    const first = await gql(`mutation($t: String!) { signInWithLink(token: $t) { __typename } }`, { t: token });
    expect(first.body.data.signInWithLink.__typename).toBe('SignInPayload');
    expect(first.res.headers.get('set-cookie')).toMatch(/^wicket_session=/);
    const second = await gql(`mutation($t: String!) { signInWithLink(token: $t) { __typename ... on ValidationError { field } } }`, { t: token });
    expect(second.body.data.signInWithLink).toEqual({ __typename: 'ValidationError', field: 'token' });
  });

  it('API tokens: created once in clear, stored as a digest, revoked at once', async () => {
    const { token } = await t.f.accountWithToken({ email: 'script@example.com' });
    const created = await t.graphql<any>(`mutation { createApiToken(name: "ci") { __typename ... on ApiTokenPayload { token apiToken { id suffix } } } }`, {}, token);
    const { token: secret, apiToken } = created.body.data.createApiToken;
    expect(secret).toMatch(/^wkt_/);
    expect(secret.endsWith(apiToken.suffix)).toBe(true);
    const rows = await t.testDb.database.db.selectFrom('api_tokens').selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain(secret);
    expect((await t.graphql(`{ viewer { account { email } } }`, {}, secret)).status).toBe(200);
    await t.graphql(`mutation($id: ID!) { revokeApiToken(id: $id) { __typename } }`, { id: apiToken.id }, token);
    expect((await t.graphql(`{ viewer { account { email } } }`, {}, secret)).status).toBe(401);
  });
});
