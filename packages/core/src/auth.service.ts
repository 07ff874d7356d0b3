import { randomInt } from 'node:crypto';
import type { Kysely } from 'kysely';
import { repo, type DB } from '@wicket/db';
import { toMemberships, type Viewer } from './access.ts';
import { ValidationError } from './errors.ts';
import type { Logger } from './logger.ts';
import { Secrets, suffixOf } from './secrets.ts';

const CODE_TTL_MS = 10 * 60_000;
const LINK_TTL_MS = 24 * 3_600_000;
export const SESSION_TTL_MS = 7 * 86_400_000;
export const SESSION_COOKIE = 'wicket_session';

export function readCookie(header: string | null | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return decodeURIComponent(part.slice(i + 1).trim());
  }
  return null;
}

export interface SignInDelivery {
  /** Sends the code by mail when SMTP is configured; otherwise the server log shows it. */
  deliver(email: string, code: string): Promise<void>;
}

export class AuthService {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly secrets: Secrets,
    private readonly log: Logger,
    private readonly delivery: SignInDelivery,
  ) {}

  async authenticateApiToken(token: string): Promise<Viewer | null> {
    return token ? this.viewerFor('token', token) : null;
  }

  async authenticateSession(sessionToken: string): Promise<Viewer | null> {
    return sessionToken ? this.viewerFor('session', sessionToken) : null;
  }

  private async viewerFor(kind: 'token' | 'session', secret: string): Promise<Viewer | null> {
    const row = await repo.findViewerByCredentialDigest(this.db, kind, this.secrets.digest(secret));
    if (!row) return null;
    return {
      accountId: row.account_id,
      email: row.email,
      name: row.account_name,
      credential: { kind, id: row.credential_id },
      memberships: toMemberships(row.memberships),
    };
  }

  /** API token (Authorization: Bearer) first, else the console's session cookie. */
  async authenticate(headers: { authorization?: string | null; cookie?: string | null }): Promise<Viewer | null> {
    const auth = headers.authorization?.trim();
    if (auth) {
      const m = /^Bearer\s+(\S+)$/i.exec(auth);
      return m ? this.authenticateApiToken(m[1]) : null;
    }
    const session = readCookie(headers.cookie, SESSION_COOKIE);
    return session ? this.authenticateSession(session) : null;
  }

  /** Still valid? (open sockets re-check their credential periodically) */
  async isCredentialActive(viewer: Viewer): Promise<boolean> {
    return viewer.credential.kind === 'token'
      ? repo.isApiTokenActive(this.db, viewer.credential.id)
      : repo.isSessionActive(this.db, viewer.credential.id);
  }

  /** Always succeeds from the caller's point of view, so it cannot be used to probe for accounts. */
  async requestSignInCode(email: string): Promise<void> {
    const normalized = email.trim();
    if (!/^[^@\s]+@[^@\s]+$/.test(normalized)) throw new ValidationError('email must be an email address', 'email');
    const account = await repo.findAccountByEmail(this.db, normalized);
    if (!account) {
      this.log.info({ event: 'sign_in_code_unknown_email' }, 'sign-in code requested for an unknown email');
      return;
    }
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    await repo.insertSignInCode(this.db, {
      accountId: account.id,
      digest: this.secrets.digest(`${account.id}:${code}`),
      kind: 'code',
      expiresAt: new Date(Date.now() + CODE_TTL_MS),
    });
    await this.delivery.deliver(account.email, code);
  }

  async signInWithCode(email: string, code: string): Promise<{ viewer: Viewer; sessionToken: string }> {
    const account = await repo.findAccountByEmail(this.db, email.trim());
    const cleaned = code.replace(/\s+/g, '');
    if (!account || !/^\d{6}$/.test(cleaned)) throw new ValidationError('that code is not valid for this email, or it has expired', 'code');
    const accountId = await repo.consumeSignInCode(this.db, { digest: this.secrets.digest(`${account.id}:${cleaned}`), kind: 'code', accountId: account.id });
    if (!accountId) {
      await repo.countFailedSignIn(this.db, account.id);
      throw new ValidationError('that code is not valid for this email, or it has expired', 'code');
    }
    return this.openSession(accountId);
  }

  async signInWithLink(token: string): Promise<{ viewer: Viewer; sessionToken: string }> {
    const accountId = await repo.consumeSignInCode(this.db, { digest: this.secrets.digest(`link:${token}`), kind: 'link' });
    if (!accountId) throw new ValidationError('this sign-in link has been used or has expired', 'token');
    return this.openSession(accountId);
  }

  /** A one-time sign-in link token for an account (printed at start for the first owner). */
  async createSignInLink(accountId: string): Promise<string> {
    const token = this.secrets.generate('wkl_', 24);
    await repo.insertSignInCode(this.db, {
      accountId,
      digest: this.secrets.digest(`link:${token}`),
      kind: 'link',
      expiresAt: new Date(Date.now() + LINK_TTL_MS),
    });
    return token;
  }

  async signOut(viewer: Viewer): Promise<void> {
    if (viewer.credential.kind === 'session') await repo.revokeSession(this.db, viewer.credential.id);
  }

  private async openSession(accountId: string): Promise<{ viewer: Viewer; sessionToken: string }> {
    const account = await repo.findAccountById(this.db, accountId);
    if (!account) throw new ValidationError('account no longer exists', 'email');
    const sessionToken = this.secrets.generate('wks_', 32);
    const id = await repo.insertSession(this.db, { accountId, digest: this.secrets.digest(sessionToken), expiresAt: new Date(Date.now() + SESSION_TTL_MS) });
    return { viewer: { accountId, email: account.email, name: account.name, credential: { kind: 'session', id } }, sessionToken };
  }

  async listApiTokens(viewer: Viewer) {
    return repo.listApiTokens(this.db, viewer.accountId);
  }

  async createApiToken(viewer: Viewer, name: string): Promise<{ token: string; row: repo.ApiTokenRow }> {
    const trimmed = name.trim();
    if (!trimmed || trimmed.length > 100) throw new ValidationError('name must be 1 to 100 characters', 'name');
    const token = this.secrets.generate('wkt_', 32);
    const row = await repo.insertApiToken(this.db, { accountId: viewer.accountId, name: trimmed, digest: this.secrets.digest(token), suffix: suffixOf(token) });
    return { token, row };
  }

  async revokeApiToken(viewer: Viewer, id: string): Promise<repo.ApiTokenRow> {
    const row = await repo.revokeApiToken(this.db, viewer.accountId, id);
    if (!row) throw new ValidationError('no active API token with this id', 'id');
    return row;
  }

  /**
   * First start of an empty installation: the first owner account, and (for automation) an API token
   * chosen by the operator. Returns the account when it was created now.
   */
  async bootstrapOwner(options: { email: string; apiToken?: string; name?: string }): Promise<{ accountId: string; created: boolean }> {
    const existing = await repo.findAccountByEmail(this.db, options.email);
    if (existing) return { accountId: existing.id, created: false };
    if ((await repo.countAccounts(this.db)) > 0) {
      throw new ValidationError('the installation already has accounts; the bootstrap owner is only created on an empty database', 'WICKET_ADMIN_EMAIL');
    }
    return this.db.transaction().execute(async (trx) => {
      const account = await repo.insertAccount(trx, { email: options.email, name: options.name ?? options.email.split('@')[0] });
      if (options.apiToken) {
        if (options.apiToken.length < 16) throw new ValidationError('WICKET_ADMIN_TOKEN must be at least 16 characters', 'WICKET_ADMIN_TOKEN');
        await repo.insertApiToken(trx, { accountId: account.id, name: 'bootstrap (WICKET_ADMIN_TOKEN)', digest: this.secrets.digest(options.apiToken), suffix: suffixOf(options.apiToken) });
      }
      return { accountId: account.id, created: true };
    });
  }
}
