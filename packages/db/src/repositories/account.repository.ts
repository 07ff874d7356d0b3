import { sql, type Kysely, type Selectable } from 'kysely';
import type { Accounts, ApiTokens, DB } from '../types.ts';

type Db = Kysely<DB>;
export type AccountRow = Selectable<Accounts>;
export type ApiTokenRow = Selectable<ApiTokens>;

export async function findAccountById(db: Db, id: string): Promise<AccountRow | undefined> {
  return db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findAccountByEmail(db: Db, email: string): Promise<AccountRow | undefined> {
  return db.selectFrom('accounts').selectAll().where(sql`lower(email)`, '=', email.toLowerCase()).executeTakeFirst();
}

export async function insertAccount(db: Db, values: { email: string; name?: string }): Promise<AccountRow> {
  return db.insertInto('accounts').values({ email: values.email, name: values.name ?? '' }).returningAll().executeTakeFirstOrThrow();
}

export async function countAccounts(db: Db): Promise<number> {
  const r = await db.selectFrom('accounts').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(r.n);
}

export async function insertApiToken(db: Db, values: { accountId: string; name: string; digest: string; suffix: string }): Promise<ApiTokenRow> {
  return db
    .insertInto('api_tokens')
    .values({ account_id: values.accountId, name: values.name, token_digest: values.digest, suffix: values.suffix })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function findActiveApiTokenByDigest(db: Db, digest: string): Promise<(ApiTokenRow & { email: string; account_name: string }) | undefined> {
  return db
    .selectFrom('api_tokens')
    .innerJoin('accounts', 'accounts.id', 'api_tokens.account_id')
    .selectAll('api_tokens')
    .select(['accounts.email', 'accounts.name as account_name'])
    .where('api_tokens.token_digest', '=', digest)
    .where('api_tokens.revoked_at', 'is', null)
    .executeTakeFirst();
}

export async function listApiTokens(db: Db, accountId: string): Promise<ApiTokenRow[]> {
  return db.selectFrom('api_tokens').selectAll().where('account_id', '=', accountId).orderBy('created_at', 'desc').execute();
}

export async function revokeApiToken(db: Db, accountId: string, id: string): Promise<ApiTokenRow | undefined> {
  return db
    .updateTable('api_tokens')
    .set({ revoked_at: new Date() })
    .where('id', '=', id)
    .where('account_id', '=', accountId)
    .where('revoked_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

export async function isApiTokenActive(db: Db, id: string): Promise<boolean> {
  const r = await db.selectFrom('api_tokens').select('id').where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
  return !!r;
}

export async function insertSignInCode(
  db: Db,
  values: { accountId: string; digest: string; kind: 'code' | 'link'; expiresAt: Date },
): Promise<void> {
  await db
    .insertInto('sign_in_codes')
    .values({ account_id: values.accountId, code_digest: values.digest, kind: values.kind, expires_at: values.expiresAt })
    .execute();
}

/** Marks a valid code used and returns its account, in one statement so a code works once. */
export async function consumeSignInCode(db: Db, q: { digest: string; kind: 'code' | 'link'; accountId?: string }): Promise<string | undefined> {
  let query = db
    .updateTable('sign_in_codes')
    .set({ used_at: new Date() })
    .where('code_digest', '=', q.digest)
    .where('kind', '=', q.kind)
    .where('used_at', 'is', null)
    .where('expires_at', '>', new Date())
    .where('attempts', '<', 5);
  if (q.accountId) query = query.where('account_id', '=', q.accountId);
  const r = await query.returning('account_id').executeTakeFirst();
  return r?.account_id;
}

/** A wrong code counts against the account's open codes, so guessing stops after a few tries. */
export async function countFailedSignIn(db: Db, accountId: string): Promise<void> {
  await db
    .updateTable('sign_in_codes')
    .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
    .where('account_id', '=', accountId)
    .where('used_at', 'is', null)
    .execute();
}

export async function insertSession(db: Db, values: { accountId: string; digest: string; expiresAt: Date }): Promise<string> {
  const r = await db
    .insertInto('sessions')
    .values({ account_id: values.accountId, token_digest: values.digest, expires_at: values.expiresAt })
    .returning('id')
    .executeTakeFirstOrThrow();
  return r.id;
}

export async function isSessionActive(db: Db, id: string): Promise<boolean> {
  const r = await db
    .selectFrom('sessions')
    .select('id')
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', new Date())
    .executeTakeFirst();
  return !!r;
}

export async function revokeSession(db: Db, id: string): Promise<void> {
  await db.updateTable('sessions').set({ revoked_at: new Date() }).where('id', '=', id).execute();
}

export interface CredentialWithMemberships {
  credential_id: string;
  account_id: string;
  email: string;
  account_name: string;
  memberships: { member_id: string; agent_id: string; role: string; status: string; trust_mode: string }[];
}

/**
 * Authentication and the caller's memberships in one round trip: every API request needs both, and
 * this is the fixed cost in front of each read.
 */
export async function findViewerByCredentialDigest(db: Db, kind: 'token' | 'session', digest: string): Promise<CredentialWithMemberships | undefined> {
  const credential =
    kind === 'token'
      ? sql`select t.id as credential_id, t.account_id from api_tokens t where t.token_digest = ${digest} and t.revoked_at is null`
      : sql`select s.id as credential_id, s.account_id from sessions s where s.token_digest = ${digest} and s.revoked_at is null and s.expires_at > now()`;
  const r = await sql<CredentialWithMemberships>`
    with c as (${credential})
    select c.credential_id, c.account_id, a.email, a.name as account_name,
      coalesce((
        select json_agg(json_build_object('member_id', m.id, 'agent_id', m.agent_id, 'role', m.role, 'status', m.status, 'trust_mode', g.trust_mode))
        from members m join agents g on g.id = m.agent_id where m.account_id = c.account_id
      ), '[]'::json) as memberships
    from c join accounts a on a.id = c.account_id`.execute(db);
  const row = r.rows[0];
  if (!row) return undefined;
  return { ...row, memberships: typeof row.memberships === 'string' ? JSON.parse(row.memberships) : row.memberships };
}
