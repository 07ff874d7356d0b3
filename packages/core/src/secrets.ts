import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Server-side secrets: HMAC digests for keys, tokens and codes; AES-256-GCM for connector credentials. */
export class Secrets {
  private readonly hmacKey: Buffer;
  private readonly encKey: Buffer;

  constructor(serverSecret: string) {
    if (!serverSecret || serverSecret.length < 16) throw new Error('the server secret must be at least 16 characters');
    this.hmacKey = createHash('sha256').update(`wicket:hmac:${serverSecret}`).digest();
    this.encKey = createHash('sha256').update(`wicket:enc:${serverSecret}`).digest();
  }

  digest(value: string): string {
    return createHmac('sha256', this.hmacKey).update(value).digest('base64url');
  }

  /** A random secret with a readable prefix, e.g. `wk_live_…` for member keys. */
  generate(prefix: string, bytes = 24): string {
    return `${prefix}${randomBytes(bytes).toString('base64url')}`;
  }

  encrypt(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.encKey, iv);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
  }

  decrypt(sealed: string): string {
    const [v, iv, tag, body] = sealed.split('.');
    if (v !== 'v1' || !iv || !tag || body === undefined) throw new Error('unreadable sealed value');
    const decipher = createDecipheriv('aes-256-gcm', this.encKey, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
  }

  equals(a: string, b: string): boolean {
    const x = Buffer.from(a);
    const y = Buffer.from(b);
    return x.length === y.length && timingSafeEqual(x, y);
  }
}

export function suffixOf(secret: string): string {
  return secret.slice(-4);
}
