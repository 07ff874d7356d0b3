// Redaction of tool arguments before they are stored in an audit entry (spec §4).
// Pure and dependency-free on purpose: it runs on the proxy's hot path and is fuzzed by property tests.
// It fails closed: anything it cannot read safely, or that is nested too deep, becomes "[REDACTED]".

export const REDACTED = '[REDACTED]';
export const DEFAULT_MAX_DEPTH = 32;

export interface RedactionOptions {
  /** Argument keys the connector's catalog names as sensitive; matched at any depth, ignoring case and separators. */
  sensitiveKeys?: readonly string[];
  /** Values nested deeper than this (the arguments object itself is depth 0) become "[REDACTED]". */
  maxDepth?: number;
}

// ---------------------------------------------------------------------------------------------
// Keys

/** Splits `xApiKey`, `X-API-Key`, `x_api.key`, `XAPIKey` into lower-case words: ["x", "api", "key"]. */
function keyWords(key: string): string[] {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length > 0);
}

/** Case and separators removed: `Client-Secret`, `client_secret`, `clientSecret` → `clientsecret`. */
export function normalizeKey(key: string): string {
  return keyWords(key).join('');
}

// A normalised key containing one of these anywhere is secret (`githubToken`, `DB_PASSWORD`, `x-api-key`).
const SECRET_KEY_PARTS = [
  'password', 'passwd', 'passphrase', 'passcode', 'secret', 'token', 'apikey', 'accesskey', 'privatekey',
  'signingkey', 'encryptionkey', 'masterkey', 'authkey', 'authorization', 'cookie', 'credential', 'bearer',
  'session', 'pwd', 'jwt', 'signature',
];
// `auth` anywhere (`basicauth`, `oauth_code`, `authHeader`, `authentication`) except in `author`/`authority`.
const AUTH_PART = /auth(?!or)/;
// A key with one of these as a whole word is secret (`pass`, `db_pw`), while `passive` or `compass` are not.
const SECRET_KEY_WORDS = new Set(['pw', 'pass', 'otp', 'totp', 'sig']);
// Well-known keys that contain a secret-looking part but hold no secret. The connector's own
// sensitiveKeys still win over this list. The caller IP is listed so it is never mistaken for one.
const NON_SECRET_KEYS = new Set([
  'ip', 'callerip', 'clientip', 'remoteip', 'ipaddress',
  'maxtokens', 'maxoutputtokens', 'maxinputtokens', 'maxcompletiontokens', 'tokencount', 'tokenlimit',
  'totaltokens', 'inputtokens', 'outputtokens', 'prompttokens', 'completiontokens', 'tokensused', 'tokentype',
  'pagetoken', 'nextpagetoken', 'tokenizer',
]);
// Query parameter names that carry credentials in URLs but are too generic to treat as secret keys elsewhere.
const SECRET_URL_PARAMS = new Set(['key', 'code', 'sid', 'xamzcredential', 'xamzsignature', 'xamzsecuritytoken']);

/** True when a key's name alone says its value is a secret (password, token, api key, cookie…). */
export function isSecretKey(key: string): boolean {
  return isSecretWords(keyWords(key));
}

function isSecretWords(words: string[]): boolean {
  const joined = words.join('');
  if (NON_SECRET_KEYS.has(joined)) return false;
  if (SECRET_KEY_PARTS.some((part) => joined.includes(part)) || AUTH_PART.test(joined)) return true;
  return words.some((w) => SECRET_KEY_WORDS.has(w));
}

// ---------------------------------------------------------------------------------------------
// Values

/** Random-looking rather than prose: has a digit, or mixes cases. Guards the generic prefixes (`sk-`). */
function hasEntropy(s: string): boolean {
  return /\d/.test(s) || (/[A-Z]/.test(s) && /[a-z]/.test(s));
}

/** An Authorization-style token: long enough and not an ordinary word (`Basic information` is prose). */
function looksLikeHeaderToken(s: string): boolean {
  return s.length >= 8 && (/\d/.test(s) || /[+/=]/.test(s) || (s.length >= 20 && hasEntropy(s)));
}

interface CredentialRule {
  pattern: RegExp;
  /** Decides whether a match is a credential; without it, every match is. */
  accept?: (match: RegExpExecArray) => boolean;
}

// Start of a token: not preceded by a letter or digit (an underscore is fine: `x_ghp_…`).
const S = '(?<![A-Za-z0-9])';

const RULES: CredentialRule[] = [
  // Authorization header values, alone or inside text.
  { pattern: /\b(?:bearer|basic)\s+([A-Za-z0-9._~+/=-]+)/gi, accept: (m) => looksLikeHeaderToken(m[1]) },
  { pattern: /^\s*(?:token|bot|digest|negotiate|aws4-hmac-sha256)\s+(\S+)\s*$/gi, accept: (m) => looksLikeHeaderToken(m[1]) },
  // JWT / JWS / JWE: base64url JSON header, payload, signature.
  { pattern: new RegExp(`${S}eyJ[A-Za-z0-9_-]{4,}\\.[A-Za-z0-9_-]{2,}\\.[A-Za-z0-9_-]*`, 'g') },
  // PEM private keys (PKCS#1/#8, EC, OpenSSH, encrypted, PGP).
  { pattern: /-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----/g },
  // GitHub
  { pattern: new RegExp(`${S}gh[pousr]_[A-Za-z0-9]{20,}`, 'g') },
  { pattern: new RegExp(`${S}github_pat_[A-Za-z0-9_]{20,}`, 'g') },
  // Slack tokens and incoming webhooks
  { pattern: new RegExp(`${S}xox[abposre]-[A-Za-z0-9-]{10,}`, 'g') },
  { pattern: new RegExp(`${S}xapp-\\d+-[A-Za-z0-9-]{10,}`, 'g') },
  { pattern: /hooks\.slack\.com\/(?:services|workflows|triggers)\/[A-Za-z0-9/_-]{10,}/g },
  // OpenAI, Anthropic (sk-ant-…) and other sk- keys
  { pattern: new RegExp(`${S}sk-([A-Za-z0-9_-]{20,})`, 'g'), accept: (m) => hasEntropy(m[1]) },
  // Stripe
  { pattern: new RegExp(`${S}(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}`, 'g') },
  { pattern: new RegExp(`${S}whsec_[A-Za-z0-9]{20,}`, 'g') },
  // AWS access key ids (long-lived, temporary, bearer, certificate)
  { pattern: /(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Z0-9])/g },
  // Google API keys, OAuth access tokens, OAuth client secrets
  { pattern: new RegExp(`${S}AIza[0-9A-Za-z_-]{35}`, 'g') },
  { pattern: new RegExp(`${S}ya29\\.[0-9A-Za-z_-]{20,}`, 'g') },
  { pattern: new RegExp(`${S}GOCSPX-[0-9A-Za-z_-]{20,}`, 'g') },
  // GitLab
  { pattern: new RegExp(`${S}gl(?:pat|dt|rt|ptt|ft|soat|imt|cbt|oas|agent)-[0-9A-Za-z_-]{20,}`, 'g') },
  // Linear
  { pattern: new RegExp(`${S}lin_(?:api|oauth)_[A-Za-z0-9]{20,}`, 'g') },
  // npm, PyPI, Hugging Face
  { pattern: new RegExp(`${S}npm_[A-Za-z0-9]{36}`, 'g') },
  { pattern: new RegExp(`${S}pypi-AgE[A-Za-z0-9_-]{40,}`, 'g') },
  { pattern: new RegExp(`${S}hf_[A-Za-z0-9]{30,}`, 'g') },
  // SendGrid, Mailgun, Twilio API key sids
  { pattern: new RegExp(`${S}SG\\.[A-Za-z0-9_-]{16,}\\.[A-Za-z0-9_-]{16,}`, 'g') },
  { pattern: new RegExp(`${S}key-[0-9a-f]{32}`, 'g') },
  { pattern: new RegExp(`${S}SK[0-9a-f]{32}(?![A-Za-z0-9])`, 'g') },
  // Atlassian, Notion, Shopify, DigitalOcean, HashiCorp Vault, Postman
  { pattern: new RegExp(`${S}ATATT3[A-Za-z0-9_=-]{20,}`, 'g') },
  { pattern: new RegExp(`${S}(?:secret_[A-Za-z0-9]{40,}|ntn_[A-Za-z0-9]{40,})`, 'g') },
  { pattern: new RegExp(`${S}shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}`, 'g') },
  { pattern: new RegExp(`${S}do[por]_v1_[a-f0-9]{64}`, 'g') },
  { pattern: new RegExp(`${S}hv[sbr]\\.[A-Za-z0-9_-]{20,}`, 'g') },
  { pattern: new RegExp(`${S}PMAK-[A-Za-z0-9]{20,}-[A-Za-z0-9]{20,}`, 'g') },
  // Wicket's own member keys and API tokens, should one be pasted into arguments.
  { pattern: new RegExp(`${S}wk_[a-z]+_[A-Za-z0-9_-]{16,}`, 'g') },
  // URLs with a password in the user info (`postgres://app:hunter2@db`), or a bare token as user
  // (`https://ghp…@github.com`); `ssh://git@host` stays.
  // The scheme must start at a boundary and is bounded, or a long run of letters costs quadratic time.
  { pattern: /(?<![a-z0-9+.-])[a-z][a-z0-9+.-]{0,31}:\/\/[^\s/?#@:]*:[^\s/?#@]+@/gi },
  { pattern: /(?<![a-z0-9+.-])[a-z][a-z0-9+.-]{0,31}:\/\/([^\s/?#@:]{20,})@/gi, accept: (m) => hasEntropy(m[1]) },
  // Credentials in query strings or fragments: `?access_token=…`, `&key=…`, `#id_token=…`.
  {
    pattern: /[?&#;]([A-Za-z0-9_.[\]-]+)=([^&#\s]+)/g,
    accept: (m) => isSecretKey(m[1]) || SECRET_URL_PARAMS.has(normalizeKey(m[1])),
  },
  // Assignments in config files, env files, logs or JSON held in a string: `DB_PASSWORD=hunter2`,
  // `"apiKey": "…"`, `password: hunter2`. After `:` an unquoted value must look random, so prose such as
  // "Password: required" survives.
  {
    pattern: /(?<![A-Za-z0-9_])([A-Za-z][A-Za-z0-9_.-]{1,63})["']?\s*([:=])\s*("[^"\n]*"|'[^'\n]*'|[^\s,;}&'"]+)/g,
    accept: (m) => {
      if (!isSecretKey(m[1])) return false;
      const raw = m[3];
      const quoted = raw.startsWith('"') || raw.startsWith("'");
      const value = quoted ? raw.slice(1, -1) : raw;
      if (value.length === 0) return false;
      return m[2] === '=' || quoted || (value.length >= 4 && hasEntropy(value));
    },
  },
];

// Rules with `accept` iterate their matches (global flag, lastIndex reset around each use); the others only
// need `test`, which must not carry lastIndex state between strings, so they lose the global flag.
const CREDENTIAL_RULES: CredentialRule[] = RULES.map((rule) =>
  rule.accept ? rule : { pattern: new RegExp(rule.pattern.source, rule.pattern.flags.replace('g', '')) },
);

/**
 * No rule matches a string of this many characters or fewer that has no ':' and no '=': the shortest match
 * without either is a JWT's (`eyJ` + 4 + `.` + 2 + `.`: 11 characters); every rule that can match less
 * (query parameters, assignments, URLs with user info) needs one of the two. So ordinary short argument
 * values and keys (`acme`, `owner`, `main`) skip the patterns; redaction.test.ts checks the claim against
 * the patterns themselves.
 */
const SHORTEST_MATCH_WITHOUT_SEPARATOR = 11;

/** True when a string is, or contains, something that looks like a credential. */
export function looksLikeCredential(value: string): boolean {
  if (value.length < SHORTEST_MATCH_WITHOUT_SEPARATOR && !value.includes(':') && !value.includes('=')) return false;
  return matchesCredentialRule(value);
}

/** The patterns themselves, without the length shortcut (exported for the test of that shortcut). */
export function matchesCredentialRule(value: string): boolean {
  for (const rule of CREDENTIAL_RULES) {
    const { pattern, accept } = rule;
    if (!accept) {
      if (pattern.test(value)) return true;
      continue;
    }
    // Global patterns are shared, so lastIndex is reset on the way in and on the way out.
    pattern.lastIndex = 0;
    try {
      let match: RegExpExecArray | null;
      while ((match = pattern.exec(value)) !== null) {
        if (accept(match)) return true;
      }
    } finally {
      pattern.lastIndex = 0;
    }
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Walking

interface WalkContext {
  sensitive: Set<string>;
  maxDepth: number;
  /** Objects on the current path, to detect cycles. Shared (non-cyclic) references are copied each time. */
  ancestors: Set<object>;
}

/** What redaction needs to know of an object key: its normalised form, and whether its name says "secret". */
interface KeyFacts {
  normalized: string;
  secretName: boolean;
  /** The key itself looks like a credential (then it is stored as "[REDACTED]"). */
  credential: boolean;
}

// Argument names repeat from call to call (they are the tools' parameter names), and classifying one costs
// a dozen regular expressions; so the facts of short keys are kept, up to KEY_FACTS_MAX of them (then the
// cache starts over). A key that looks like a credential itself is never kept.
const KEY_FACTS_MAX = 4096;
const KEY_FACTS_MAX_LENGTH = 64;
const keyFactsCache = new Map<string, KeyFacts>();

function keyFacts(key: string): KeyFacts {
  const known = keyFactsCache.get(key);
  if (known) return known;
  const words = keyWords(key);
  const facts = { normalized: words.join(''), secretName: isSecretWords(words), credential: looksLikeCredential(key) };
  if (key.length <= KEY_FACTS_MAX_LENGTH && !facts.credential) {
    if (keyFactsCache.size >= KEY_FACTS_MAX) keyFactsCache.clear();
    keyFactsCache.set(key, facts);
  }
  return facts;
}

// The normalised form of a connector's sensitive keys, per list (catalog lists are long-lived objects;
// one changed in place is normalised again).
const sensitiveSets = new WeakMap<readonly string[], { source: string; set: Set<string> }>();

function sensitiveSet(keys: readonly string[] | undefined): Set<string> {
  if (!keys) return new Set();
  const source = keys.join('\u0000');
  let known = sensitiveSets.get(keys);
  if (known?.source !== source) {
    known = { source, set: new Set(keys.map(normalizeKey).filter((k) => k.length > 0)) };
    sensitiveSets.set(keys, known);
  }
  return known.set;
}

function redactString(s: string): string {
  return looksLikeCredential(s) ? REDACTED : s;
}

function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  // defineProperty, so a key named "__proto__" stays data instead of replacing the prototype.
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function redactEntries(entries: Iterable<[string, unknown]>, depth: number, ctx: WalkContext): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [rawKey, value] of entries) {
    const facts = keyFacts(rawKey);
    let key = rawKey;
    if (facts.credential) {
      key = REDACTED;
      for (let n = 2; Object.prototype.hasOwnProperty.call(out, key); n++) key = `${REDACTED}#${n}`;
    }
    const secret = ctx.sensitive.has(facts.normalized) || facts.secretName;
    const redacted = secret ? redactUnderSecretKey(value) : redactValue(value, depth + 1, ctx);
    setOwn(out, key, redacted);
  }
  return out;
}

/** Whatever sits under a secret key goes, except values that cannot carry one (`null`, `true`). */
function redactUnderSecretKey(value: unknown): unknown {
  return value === null || value === undefined || typeof value === 'boolean' ? value : REDACTED;
}

function* ownEntries(obj: object): Generator<[string, unknown]> {
  for (const key of Object.keys(obj)) {
    let value: unknown;
    try {
      value = (obj as Record<string, unknown>)[key];
    } catch {
      value = REDACTED; // a throwing getter: we cannot tell what it holds
    }
    yield [key, value];
  }
}

function redactObject(value: object, depth: number, ctx: WalkContext): unknown {
  if (Array.isArray(value)) return value.map((item) => redactValue(item, depth + 1, ctx));
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return `[binary ${value.byteLength} bytes]`;
  if (value instanceof String) return redactString(value.valueOf());
  if (value instanceof Number || value instanceof Boolean) return value.valueOf();
  if (value instanceof RegExp || value instanceof URL) return redactString(String(value));
  if (value instanceof Map) {
    const entries = [...value.entries()].map(([k, v]): [string, unknown] => [typeof k === 'string' ? k : safeLabel(k), v]);
    return redactEntries(entries, depth, ctx);
  }
  if (value instanceof Set) return [...value].map((item) => redactValue(item, depth + 1, ctx));
  if (value instanceof Error) return redactEntries([['name', value.name], ['message', value.message]], depth, ctx);
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') {
    const json: unknown = toJSON.call(value);
    // Same depth: toJSON replaces the value rather than nesting it.
    return json === value ? redactEntries(ownEntries(value), depth, ctx) : redactValue(json, depth, ctx);
  }
  return redactEntries(ownEntries(value), depth, ctx);
}

function safeLabel(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return '[object]';
  if (typeof value === 'function') return '[Function]';
  return redactString(String(value));
}

function redactValue(value: unknown, depth: number, ctx: WalkContext): unknown {
  if (depth > ctx.maxDepth) return REDACTED;
  switch (typeof value) {
    case 'string':
      return redactString(value);
    case 'number':
    case 'boolean':
    case 'undefined':
      return value;
    case 'bigint':
      return value.toString();
    case 'symbol':
    case 'function':
      return safeLabel(value);
  }
  if (value === null) return null;
  const obj = value as object;
  if (ctx.ancestors.has(obj)) return '[Circular]';
  ctx.ancestors.add(obj);
  try {
    return redactObject(obj, depth, ctx);
  } finally {
    ctx.ancestors.delete(obj);
  }
}

/**
 * A deep copy of tool arguments safe to store: values under the connector's sensitive keys and under
 * secret-looking keys, and strings that look like (or contain) credentials, become "[REDACTED]".
 * Never mutates its input. Anything unreadable fails closed.
 */
export function redactArguments(args: unknown, options: RedactionOptions = {}): unknown {
  const ctx: WalkContext = {
    sensitive: sensitiveSet(options.sensitiveKeys),
    maxDepth: options.maxDepth ?? DEFAULT_MAX_DEPTH,
    ancestors: new Set(),
  };
  try {
    return redactValue(args, 0, ctx);
  } catch {
    // A Proxy that throws, a toJSON that throws, a revoked object…: store nothing rather than a secret.
    return REDACTED;
  }
}

/**
 * True when any of `secrets` appears in `text`, either verbatim or in its JSON-escaped form (so a PEM
 * block with newlines is still found in `JSON.stringify` output). Empty secrets are ignored.
 */
export function containsSecret(text: string, secrets: readonly string[]): boolean {
  return secrets.some((secret) => {
    if (secret.length === 0) return false;
    return text.includes(secret) || text.includes(JSON.stringify(secret).slice(1, -1));
  });
}
