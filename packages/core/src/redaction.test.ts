import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { containsSecret, isSecretKey, looksLikeCredential, matchesCredentialRule, normalizeKey, REDACTED, redactArguments } from './redaction.ts';

// Realistic fixtures. They are assembled from parts so that no complete credential-shaped literal sits in
// the source (secret scanners in CI would flag them, and rightly).
const A36 = 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8';
const fixtures = {
  githubClassic: 'ghp' + '_' + A36,
  githubOauth: 'gho' + '_' + A36,
  githubFineGrained: 'github' + '_pat_' + '11ABCDEFG0123456789abc_' + 'Zy9'.repeat(19) + 'x',
  slackBot: 'xoxb' + '-2401234567-7012345678901-' + 'AbCdEfGhIjKlMnOpQrStUvWx',
  slackUser: 'xoxp' + '-2401234567-2401234567-7012345678901-' + 'a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4',
  slackApp: 'xapp' + '-1-A0123456789-7012345678901-' + 'f'.repeat(64),
  slackWebhook: 'https://hooks.slack.com/services/' + 'T01234567/B01234567/' + 'AbCdEfGhIjKlMnOpQrStUvWx',
  openai: 'sk' + '-proj-' + 'Ab3'.repeat(16),
  anthropic: 'sk' + '-ant-api03-' + 'Xy7_'.repeat(20) + 'AA',
  stripeLive: 'sk' + '_live_' + '51H' + 'aB3cD4eF5gH6iJ7kL8mN9oP0',
  stripeRestricted: 'rk' + '_live_' + '51H' + 'aB3cD4eF5gH6iJ7kL8mN9oP0',
  awsAccessKey: 'AKIA' + 'IOSFODNN7EXAMPLE',
  awsSessionKey: 'ASIA' + 'Y34FZKBOKMUTVV7A',
  google: 'AIza' + 'SyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY',
  gitlab: 'glpat' + '-' + 'xYz123AbC456dEf789gH',
  linear: 'lin' + '_api_' + 'Q7p'.repeat(14),
  npm: 'npm' + '_' + A36,
  sendgrid: 'SG' + '.' + 'ngeVfQFYQlKU0ufo8x5d1A' + '.' + 'TwL2iGABf9DHoTf-09kqeF8tAmbihYzrnopKc-1s5cr',
  huggingFace: 'hf' + '_' + 'AbCdEfGhIjKlMnOpQrStUvWxYz0123456789',
  jwt:
    'eyJ' + 'hbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9' + '.' +
    'eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ' + '.' +
    'SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c',
  pem: ['-----BEGIN ' + 'RSA PRIVATE KEY-----', 'MIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7', '-----END RSA PRIVATE KEY-----'].join('\n'),
  pemOpenSsh: ['-----BEGIN ' + 'OPENSSH PRIVATE KEY-----', 'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ', '-----END OPENSSH PRIVATE KEY-----'].join('\n'),
  wicketMemberKey: 'wk' + '_live_' + 'Zq3xY8vB2nM5kL7pR4tW9sD1',
};

describe('redactArguments: keys', () => {
  it.each([
    'password', 'Password', 'PASSWORD', 'db_password', 'dbPassword', 'passwd', 'pwd', 'pass', 'secret', 'client_secret',
    'clientSecret', 'Client-Secret', 'token', 'accessToken', 'refresh_token', 'id-token', 'api_key', 'apiKey', 'api-key',
    'API.KEY', 'APIKey', 'X-Api-Key', 'xapikey', 'access_key', 'aws_secret_access_key', 'authorization', 'Authorization',
    'auth', 'basicAuth', 'oauth_code', 'cookie', 'Set-Cookie', 'set_cookie', 'private_key', 'privateKey', 'session',
    'sessionId', 'credential', 'credentials', 'bearer', 'bearerToken', 'githubToken', 'webhook_secret', 'signing_key',
    'otp', 'signature', 'jwt',
  ])('redacts the value under %s', (key) => {
    expect(redactArguments({ [key]: 'hunter2-value', keep: 'hello' }, {})).toEqual({ [key]: REDACTED, keep: 'hello' });
  });

  it.each(['ip', 'callerIp', 'caller_ip', 'author', 'authorName', 'authority', 'owner', 'repo', 'title', 'body', 'keyword',
    'key', 'monkey', 'passive', 'compass', 'max_tokens', 'maxTokens', 'pageToken', 'query', 'content', 'path'])(
    'keeps the value under %s',
    (key) => {
      expect(redactArguments({ [key]: 'hello world' }, {})).toEqual({ [key]: 'hello world' });
    },
  );

  it('redacts whole subtrees, numbers and arrays under a secret key, keeping null and booleans', () => {
    const out = redactArguments(
      { credentials: { user: 'bob', pass: 'x' }, pin_token: 123456, tokens: ['a', 'b'], password: null, secret: true },
      {},
    );
    expect(out).toEqual({ credentials: REDACTED, pin_token: REDACTED, tokens: REDACTED, password: null, secret: true });
  });

  it('redacts the connector sensitive keys at any depth, ignoring case and separators', () => {
    const args = { message: { text: 'hi', webhookUrl: 'https://example.com/hook' }, items: [{ CONTENT: 'abc' }, { title: 't' }] };
    expect(redactArguments(args, { sensitiveKeys: ['webhook_url', 'content'] })).toEqual({
      message: { text: 'hi', webhookUrl: REDACTED },
      items: [{ CONTENT: REDACTED }, { title: 't' }],
    });
  });

  it('lets the connector mark a key sensitive that the heuristics consider harmless', () => {
    expect(redactArguments({ ip: '10.0.0.1', query: 'q' }, { sensitiveKeys: ['query'] })).toEqual({ ip: '10.0.0.1', query: REDACTED });
  });

  it('normalises keys the same way whatever the style', () => {
    expect(new Set(['client_secret', 'clientSecret', 'Client-Secret', 'CLIENT.SECRET', 'ClientSecret'].map(normalizeKey))).toEqual(
      new Set(['clientsecret']),
    );
    expect(isSecretKey('callerIp')).toBe(false);
  });
});

describe('redactArguments: values', () => {
  it.each(Object.entries(fixtures))('redacts a %s value, alone and inside text', (_name, secret) => {
    expect(redactArguments({ note: secret }, {})).toEqual({ note: REDACTED });
    expect(redactArguments({ note: `please use ${secret} for the deploy` }, {})).toEqual({ note: REDACTED });
    expect(redactArguments([[`"${secret}"`]], {})).toEqual([[REDACTED]]);
  });

  it.each([
    ['a Bearer header', 'Bearer ' + 'dGhpcy1pcy1hLXRva2VuLTEyMzQ1'],
    ['a Basic header', 'Basic ' + 'dXNlcjpwYXNzd29yZA=='],
    ['a Bearer header inside a curl line', "curl -H 'Authorization: Bearer " + 'abc123def456ghi789' + "' https://api.example.com"],
    ['a token-scheme header', 'token ' + '0123456789abcdef0123'],
    ['a URL with user:password', 'postgres://app:s3cret@db.internal:5432/app'],
    ['a URL with a token as user', 'https://' + 'x1y2z3a4b5c6d7e8f9g0h1' + '@github.com/org/repo.git'],
    ['a URL with ?token=', 'https://example.com/download?file=a.zip&token=abcdef'],
    ['a URL with ?access_token=', 'https://api.example.com/v1/me?access_token=abcdef'],
    ['a URL with #id_token=', 'https://app.example.com/cb#id_token=abcdef&state=1'],
    ['a URL with ?key=', 'https://maps.example.com/api?key=abcdef123'],
    ['an env file', 'NODE_ENV=production\nDB_PASSWORD=hunter2\nPORT=3000\n'],
    ['a JSON string', '{"user":"bob","apiKey":"abcdef"}'],
    ['a YAML line', 'password: hunter2'],
  ])('redacts %s', (_name, value) => {
    expect(looksLikeCredential(value)).toBe(true);
    expect(redactArguments({ text: value }, {})).toEqual({ text: REDACTED });
  });

  it.each([
    'Basic information about the auth flow',
    'Bearer tokens are described in RFC 6750',
    'Password: required for login',
    'the author: Jane Doe',
    'ssh://git@github.com/org/repo.git',
    'git@github.com:org/repo.git',
    'https://github.com/search?q=redaction&type=code',
    'sk-learn-tutorial-for-beginners',
    'max_tokens=100',
    '192.168.10.4',
    '2001:db8::1',
    'Fix login bug in auth service (#123)',
    'eyJ alone is not a token',
    '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----',
    'AKIA is how AWS keys start',
    '2024-05-01T10:00:00Z',
    'a3f5c9e1d2b4a6c8e0f1a3b5c7d9e1f2a3b5c7d9', // a git commit sha
    '550e8400-e29b-41d4-a716-446655440000',
  ])('keeps %j', (value) => {
    expect(looksLikeCredential(value)).toBe(false);
    expect(redactArguments({ text: value }, {})).toEqual({ text: value });
  });

  it('never redacts a caller IP', () => {
    const args = { ip: '203.0.113.7', callerIp: '2001:db8::7', nested: { remote_ip: '198.51.100.1' } };
    expect(redactArguments(args, {})).toEqual(args);
  });

  it('redacts object keys that are credentials themselves', () => {
    const out = redactArguments({ [fixtures.githubClassic]: 'repo', [fixtures.npm]: 'npm', ok: 1 }, {}) as Record<string, unknown>;
    expect(out).toEqual({ [REDACTED]: 'repo', [`${REDACTED}#2`]: 'npm', ok: 1 });
  });
});

describe('redactArguments: structure', () => {
  it('does not mutate its input and returns a copy', () => {
    const input = { a: { token: 'x', list: [1, { password: 'p' }] } };
    const before = structuredClone(input);
    const out = redactArguments(input, {}) as typeof input;
    expect(input).toEqual(before);
    expect(out).not.toBe(input);
    expect(out.a).not.toBe(input.a);
    out.a.list.push(2);
    expect(input.a.list).toHaveLength(2);
  });

  it('handles cycles and repeated references', () => {
    const shared = { v: 1 };
    const input: Record<string, unknown> = { shared, again: shared, list: [] as unknown[] };
    input.self = input;
    (input.list as unknown[]).push(input);
    expect(redactArguments(input, {})).toEqual({ shared: { v: 1 }, again: { v: 1 }, list: ['[Circular]'], self: '[Circular]' });
  });

  it('fails closed beyond the depth limit', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 40; i++) deep = { next: deep };
    const json = JSON.stringify(redactArguments(deep, {}));
    expect(json).not.toContain('leaf');
    expect(json).toContain(REDACTED);
    expect(redactArguments({ a: { b: 'c' } }, { maxDepth: 1 })).toEqual({ a: { b: REDACTED } });
    expect(redactArguments({ a: { b: 'c' } }, { maxDepth: 2 })).toEqual({ a: { b: 'c' } });
  });

  it('stringifies non-plain values safely', () => {
    class Thing {
      constructor(public name: string, private apiKey: string) {}
    }
    const out = redactArguments(
      {
        at: new Date('2024-01-02T03:04:05Z'),
        bad: new Date('nope'),
        big: 10n,
        bin: new Uint8Array([1, 2, 3]),
        map: new Map<unknown, unknown>([['password', 'x'], ['name', 'y']]),
        set: new Set(['a', fixtures.slackBot]),
        re: /ab+c/,
        url: new URL('https://u:p4ss@example.com/'),
        err: new Error(`failed with ${fixtures.githubClassic}`),
        thing: new Thing('n', 'k'),
        fn: () => 1,
        sym: Symbol('s'),
        json: { toJSON: () => ({ token: 't', ok: 1 }) },
        boxed: new String('hello'),
      },
      {},
    );
    expect(out).toEqual({
      at: '2024-01-02T03:04:05.000Z',
      bad: 'Invalid Date',
      big: '10',
      bin: '[binary 3 bytes]',
      map: { password: REDACTED, name: 'y' },
      set: ['a', REDACTED],
      re: '/ab+c/',
      url: REDACTED,
      err: { name: 'Error', message: REDACTED },
      thing: { name: 'n', apiKey: REDACTED },
      fn: '[Function]',
      sym: 'Symbol(s)',
      json: { token: REDACTED, ok: 1 },
      boxed: 'hello',
    });
  });

  it('fails closed on values that throw when read', () => {
    const hostile = new Proxy({}, { ownKeys: () => { throw new Error('no'); } });
    expect(redactArguments(hostile, {})).toBe(REDACTED);
    const getter = Object.defineProperty({ ok: 1 }, 'boom', { enumerable: true, get: () => { throw new Error('no'); } });
    expect(redactArguments(getter, {})).toEqual({ ok: 1, boom: REDACTED });
  });

  it('keeps a key named __proto__ as data', () => {
    const input = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as unknown;
    const out = redactArguments(input, {}) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.prototype.hasOwnProperty.call(out, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('scans long adversarial strings in about linear time', () => {
    const n = 200_000;
    const inputs = ['a'.repeat(n), '?' + 'a'.repeat(n), '-----BEGIN ' + 'A'.repeat(n), 'a.'.repeat(n / 2), 'a://' + 'b'.repeat(n), 'token ' + 'a '.repeat(n / 2)];
    const started = performance.now();
    for (const s of inputs) expect(redactArguments({ s }, {})).toEqual({ s });
    expect(performance.now() - started).toBeLessThan(2_000); // quadratic patterns took ~40 s per input
  });

  it('gives the same answer for the same string every time (no regex state leaks between calls)', () => {
    const values = [fixtures.githubClassic, 'plain', fixtures.awsAccessKey, 'x', fixtures.jwt];
    const first = values.map((v) => looksLikeCredential(v));
    for (let i = 0; i < 3; i++) expect(values.map((v) => looksLikeCredential(v))).toEqual(first);
    expect(first).toEqual([true, false, true, false, true]);
  });

  it('passes primitives through', () => {
    expect(redactArguments(undefined, {})).toBeUndefined();
    expect(redactArguments(null, {})).toBeNull();
    expect(redactArguments(3, {})).toBe(3);
    expect(redactArguments('plain', {})).toBe('plain');
    expect(redactArguments(fixtures.jwt, {})).toBe(REDACTED);
  });
});

describe('containsSecret', () => {
  it('finds secrets verbatim and JSON-escaped', () => {
    expect(containsSecret(JSON.stringify({ k: fixtures.pem }), [fixtures.pem])).toBe(true);
    expect(containsSecret('nothing here', ['abc', ''])).toBe(false);
    expect(containsSecret('xx abc yy', ['zzz', 'abc'])).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Property: planted secrets never survive, benign values always do, and the input is never touched.

const ALNUM = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'];
const UPPER_DIGITS = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'];
const B64URL = [...ALNUM, '-', '_'];
const B64 = [...ALNUM, '+', '/'];

/**
 * A random string as a CSPRNG would make it. fast-check likes degenerate strings ("aaaa…"), which no real
 * token is, so one upper-case letter, one lower-case letter and one digit are mixed in when the alphabet has them.
 */
function randomToken(alphabet: string[], length: number): fc.Arbitrary<string> {
  return fc
    .tuple(fc.array(fc.constantFrom(...alphabet), { minLength: length, maxLength: length }), fc.nat(), fc.nat(), fc.nat())
    .map(([chars, i, j, k]) => {
      const out = [...chars];
      const put = (pos: number, pool: string) => {
        const candidates = [...pool].filter((c) => alphabet.includes(c));
        if (candidates.length > 0) out[pos % out.length] = candidates[pos % candidates.length];
      };
      put(i, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ');
      put(j + 1, 'abcdefghijklmnopqrstuvwxyz');
      put(k + 2, '0123456789');
      return out.join('');
    });
}

const providerToken: fc.Arbitrary<string> = fc.oneof(
  randomToken(ALNUM, 36).map((t) => `gh${'pousr'[t.charCodeAt(0) % 5]}_${t}`),
  randomToken([...ALNUM, '_'], 82).map((t) => `github_pat_${t}`),
  fc.tuple(fc.constantFrom('b', 'p', 'a'), randomToken(ALNUM, 24)).map(([k, t]) => `xox${k}-2401234567-7012345678901-${t}`),
  randomToken(ALNUM, 48).map((t) => `xapp-1-A0123456789-${t}`),
  fc.tuple(fc.constantFrom('', 'proj-', 'ant-api03-', 'svcacct-'), randomToken([...ALNUM, '-', '_'], 48)).map(([p, t]) => `sk-${p}${t}`),
  fc.tuple(fc.constantFrom('sk_live_', 'sk_test_', 'rk_live_'), randomToken(ALNUM, 24)).map(([p, t]) => p + t),
  fc.tuple(fc.constantFrom('AKIA', 'ASIA'), randomToken(UPPER_DIGITS, 16)).map(([p, t]) => p + t),
  randomToken(B64URL, 35).map((t) => `AIza${t}`),
  randomToken(B64URL, 20).map((t) => `glpat-${t}`),
  randomToken(ALNUM, 40).map((t) => `lin_api_${t}`),
  randomToken(ALNUM, 36).map((t) => `npm_${t}`),
  fc.tuple(randomToken(B64URL, 22), randomToken(B64URL, 43)).map(([a, b]) => `SG.${a}.${b}`),
  randomToken(ALNUM, 34).map((t) => `hf_${t}`),
  randomToken(B64URL, 24).map((t) => `wk_live_${t}`),
);

const base64url = (s: string) => Buffer.from(s).toString('base64url');
const jwt: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom('HS256', 'RS256', 'ES256'), fc.string({ maxLength: 12 }), fc.nat(), randomToken(B64URL, 43))
  .map(([alg, sub, iat, sig]) => `${base64url(JSON.stringify({ alg, typ: 'JWT' }))}.${base64url(JSON.stringify({ sub, iat }))}.${sig}`);

const pem: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom('', 'RSA ', 'EC ', 'OPENSSH ', 'ENCRYPTED ', 'DSA '), fc.array(randomToken(B64, 64), { minLength: 1, maxLength: 4 }))
  .map(([kind, lines]) => [`-----BEGIN ${kind}PRIVATE KEY-----`, ...lines, `-----END ${kind}PRIVATE KEY-----`].join('\n'));

/** An opaque secret with no recognisable shape: only its key can give it away. */
const opaqueSecret = randomToken(ALNUM, 18);

const SECRET_KEY_BASES = [
  ['password'], ['passwd'], ['secret'], ['token'], ['api', 'key'], ['access', 'key'], ['authorization'], ['auth'],
  ['cookie'], ['set', 'cookie'], ['private', 'key'], ['client', 'secret'], ['session'], ['credential'], ['credentials'],
  ['bearer'], ['refresh', 'token'], ['access', 'token'], ['x', 'api', 'key'], ['session', 'id'], ['pwd'],
];
const KEY_PREFIXES = [[], [], ['github'], ['db'], ['slack', 'bot'], ['aws', 'secret'], ['my']];
const SENSITIVE_KEY_BASES = [['webhook', 'url'], ['customer', 'note'], ['diff', 'text'], ['raw', 'payload'], ['recovery', 'email']];

type KeyStyle = (words: string[]) => string;
const cap = (w: string) => w.charAt(0).toUpperCase() + w.slice(1);
const KEY_STYLES: KeyStyle[] = [
  (w) => w.join('_'),
  (w) => w.join('-'),
  (w) => w.join('.'),
  (w) => w.join(''),
  (w) => w.map((x) => x.toUpperCase()).join('_'),
  (w) => w.map((x) => x.toUpperCase()).join('-'),
  (w) => w[0] + w.slice(1).map(cap).join(''),
  (w) => w.map(cap).join(''),
  (w) => w.map(cap).join('-'),
];
const styledKey = (bases: string[][], prefixes: string[][]) =>
  fc.tuple(fc.constantFrom(...prefixes), fc.constantFrom(...bases), fc.constantFrom(...KEY_STYLES)).map(([p, b, style]) => style([...p, ...b]));

// Benign vocabulary: no word here may contain anything a secret rule could react to. This list is written
// independently of the implementation on purpose.
const SUSPICIOUS = ['auth', 'pass', 'pw', 'secret', 'token', 'key', 'cookie', 'session', 'cred', 'bearer', 'sig', 'otp', 'jwt',
  'webhook', 'customer', 'diff', 'payload', 'recovery'];
const benignWord = fc
  .oneof(
    fc.constantFrom('owner', 'repo', 'title', 'body', 'labels', 'state', 'branch', 'path', 'message', 'channel', 'text',
      'team', 'priority', 'assignee', 'query', 'limit', 'cursor', 'description', 'name', 'id', 'ip', 'callerIp', 'issue', 'project'),
    fc.stringMatching(/^[a-z]{1,8}$/),
  )
  .filter((w) => !SUSPICIOUS.some((s) => w.toLowerCase().includes(s)));
const benignLeaf: fc.Arbitrary<unknown> = fc.oneof(
  benignWord,
  fc.array(benignWord, { minLength: 2, maxLength: 5 }).map((ws) => ws.join(' ')),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
);
const { tree: benignTree } = fc.letrec<{ tree: unknown; object: Record<string, unknown>; array: unknown[] }>((tie) => ({
  tree: fc.oneof({ depthSize: 'small', withCrossShrink: true }, benignLeaf, tie('object'), tie('array')),
  object: fc.dictionary(benignWord, tie('tree'), { maxKeys: 4 }),
  array: fc.array(tie('tree'), { maxLength: 4 }),
}));

interface Plant {
  /** What goes into the tree. */
  node: unknown;
  /** Strings that must not appear in the redacted output. */
  secrets: string[];
}

const sentenceAround = (secret: string) =>
  fc.tuple(benignWord, benignWord).map(([a, b]) => `${a} ${secret} ${b}`);

const valuePlant: fc.Arbitrary<Plant> = fc
  .oneof(providerToken, jwt, pem)
  .chain((secret) =>
    fc.oneof(
      fc.constant(secret),
      sentenceAround(secret),
      fc.constant(`Authorization: Bearer ${secret}`),
    ).map((value) => ({ node: value, secrets: [secret] })),
  );

const embeddedPlant: fc.Arbitrary<Plant> = fc.oneof(
  fc.tuple(benignWord, opaqueSecret).map(([user, password]) => ({ node: `https://${user}:${password}@example.com/x`, secrets: [password] })),
  fc.tuple(opaqueSecret, fc.constantFrom('token', 'access_token', 'api_key', 'key', 'client_secret')).map(([t, param]) => ({
    node: `https://api.example.com/v1/items?page=2&${param}=${t}`,
    secrets: [t],
  })),
  fc.tuple(opaqueSecret, styledKey(SECRET_KEY_BASES, KEY_PREFIXES)).map(([t, key]) => ({ node: `LOG_LEVEL=info\n${key}=${t}\n`, secrets: [t] })),
  randomToken(B64, 28).map((t) => ({ node: `Basic ${t}`, secrets: [t] })),
);

/** A value, or a little tree holding it, under a key that gives it away. */
const keyedValue = (secret: string) =>
  fc.oneof(
    fc.constant<unknown>(secret),
    benignWord.map((w) => ({ [w]: secret })),
    fc.constant([secret]),
    fc.constant([{ nested: [secret] }]),
  );

const secretKeyPlant: fc.Arbitrary<Plant> = fc
  .tuple(styledKey(SECRET_KEY_BASES, KEY_PREFIXES), opaqueSecret)
  .chain(([key, secret]) => keyedValue(secret).map((value) => ({ node: { [key]: value }, secrets: [secret] })));

const sensitiveKeyPlant: fc.Arbitrary<Plant> = fc
  .tuple(styledKey(SENSITIVE_KEY_BASES, [[]]), opaqueSecret)
  .chain(([key, secret]) => keyedValue(secret).map((value) => ({ node: { [key]: value }, secrets: [secret] })));

const plant: fc.Arbitrary<Plant> = fc.oneof(valuePlant, embeddedPlant, secretKeyPlant, sensitiveKeyPlant);

/** Wraps a node in a few layers of objects and arrays with benign keys, to vary depth and shape. */
const wrapped: fc.Arbitrary<Plant> = fc
  .tuple(plant, fc.array(fc.constantFrom('object', 'array'), { maxLength: 5 }))
  .map(([p, layers]) => ({
    secrets: p.secrets,
    node: layers.reduce<unknown>((node, layer, i) => (layer === 'array' ? [node] : { [`layer${'abcdefgh'[i]}`]: node }), p.node),
  }));

function containers(value: unknown, out: Array<Record<string, unknown> | unknown[]> = []) {
  if (value !== null && typeof value === 'object') {
    out.push(value as Record<string, unknown> | unknown[]);
    for (const child of Object.values(value)) containers(child, out);
  }
  return out;
}

/** Every leaf of the benign tree with its path, to check it survives unchanged at the same place. */
function leaves(value: unknown, path: Array<string | number> = [], out: Array<[Array<string | number>, unknown]> = []) {
  if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) leaves(v, [...path, Array.isArray(value) ? Number(k) : k], out);
  } else out.push([path, value]);
  return out;
}

const at = (value: unknown, path: Array<string | number>) =>
  path.reduce<unknown>((v, k) => (v as Record<string | number, unknown>)[k], value);

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

describe('redactArguments: property', () => {
  const SENSITIVE_KEYS = SENSITIVE_KEY_BASES.map((b) => b.join('_'));

  it('removes every planted secret, keeps every benign value, and leaves the input untouched', () => {
    fc.assert(
      fc.property(
        fc.dictionary(benignWord, benignTree, { maxKeys: 6 }),
        fc.array(fc.tuple(wrapped, fc.nat()), { minLength: 1, maxLength: 6 }),
        (benign, plants) => {
          const args = structuredClone(benign) as Record<string, unknown>;
          plants.forEach(([p, where], i) => {
            const all = containers(args);
            const target = all[where % all.length];
            if (Array.isArray(target)) target.push(p.node);
            else target[`planted${'abcdef'[i]}`] = p.node;
          });
          const secrets = plants.flatMap(([p]) => p.secrets);
          const before = structuredClone(args);
          expect(containsSecret(JSON.stringify(args), secrets)).toBe(true); // the plants really are there

          const out = redactArguments(deepFreeze(args), { sensitiveKeys: SENSITIVE_KEYS });

          expect(containsSecret(JSON.stringify(out), secrets)).toBe(false);
          expect(args).toEqual(before);
          for (const [path, value] of leaves(benign)) expect(at(out, path)).toEqual(value);
          expect(redactArguments(out, { sensitiveKeys: SENSITIVE_KEYS })).toEqual(out); // idempotent
        },
      ),
      { numRuns: 400 },
    );
  });

  it('keeps benign trees exactly as they are', () => {
    fc.assert(
      fc.property(benignTree, (tree) => {
        expect(redactArguments(tree, { sensitiveKeys: SENSITIVE_KEYS })).toEqual(tree);
      }),
      { numRuns: 300 },
    );
  });
});

describe('looksLikeCredential: the shortcut for short strings', () => {
  // looksLikeCredential answers false, without running the patterns, for strings of 10 characters or fewer
  // that have no ':' and no '='. These tests hold the shortcut to the patterns themselves.
  it('the shortest match without ":" or "=" is 11 characters, so the shortcut may not start above 10', () => {
    const shortestJwt = 'eyJ' + 'abcd' + '.' + 'ef' + '.';
    expect(shortestJwt).toHaveLength(11);
    expect(matchesCredentialRule(shortestJwt)).toBe(true);
    expect(looksLikeCredential(shortestJwt)).toBe(true);
    // With a separator, much shorter strings match: the shortcut must not apply to them.
    for (const short of ['pw=x', '?key=v', 'pwd:"a"', 'a://:p@']) {
      expect(matchesCredentialRule(short)).toBe(true);
      expect(looksLikeCredential(short)).toBe(true);
    }
  });

  it('agrees with the patterns on strings built from the rules\' own pieces', () => {
    const piece = fc.constantFrom(
      'eyJ', 'ab', 'abcd', 'Zz9', '.', '_', '-', ' ', 'ghp_', 'gho_', 'sk-', 'sk_live_', 'xoxb-', 'xapp-1-', 'AKIA', 'AIza', 'ya29.',
      'hv', 's.', 'wk_', 'live_', 'lin_api_', 'npm_', 'hf_', 'SG.', 'key-', 'SK', 'glpat-', 'Bearer ', 'basic ', 'token ', 'bot ',
      '-----BEGIN', ' PRIVATE KEY-----', 'https://', '@', ':', '=', '?', '&', 'pw', 'pass', 'secret', '"', '0123456789', 'f00d',
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 8 }), (pieces) => {
        const s = pieces.join('');
        expect(looksLikeCredential(s)).toBe(matchesCredentialRule(s));
      }),
      { numRuns: 20_000 },
    );
  });

  it('keys are classified the same the first time and from the cache', () => {
    const keys = ['owner', 'apiKey', 'X-Api-Key', 'pass', 'passive', fixtures.githubClassic, 'wk' + '_live_' + 'Zq3xY8vB2nM5kL7pR4tW9sD1'];
    const first = keys.map((k) => redactArguments({ [k]: 'value-1234567890' }));
    const again = keys.map((k) => redactArguments({ [k]: 'value-1234567890' }));
    expect(again).toEqual(first);
    expect(first.map((o) => Object.entries(o as object)[0])).toEqual([
      ['owner', 'value-1234567890'],
      ['apiKey', REDACTED],
      ['X-Api-Key', REDACTED],
      ['pass', REDACTED],
      ['passive', 'value-1234567890'],
      [REDACTED, 'value-1234567890'],
      [REDACTED, 'value-1234567890'],
    ]);
  });

  it('a connector list of sensitive keys changed in place is read again', () => {
    const sensitiveKeys = ['repo'];
    expect(redactArguments({ repo: 'acme/api', owner: 'acme' }, { sensitiveKeys })).toEqual({ repo: REDACTED, owner: 'acme' });
    sensitiveKeys.push('owner');
    expect(redactArguments({ repo: 'acme/api', owner: 'acme' }, { sensitiveKeys })).toEqual({ repo: REDACTED, owner: REDACTED });
  });
});
