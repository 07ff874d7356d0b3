import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { sql } from 'kysely';
import { containsSecret } from '@wicket/core';
import { PROBE, startProxyWorld, type CallerSetup, type ProxyWorld } from './harness.ts';

// Spec §4: arguments are redacted before they are stored, never before forwarding. Secrets planted at
// random depths and shapes must reach the upstream intact and appear nowhere else: not in the database,
// not in GraphQL or REST answers (list and CSV export), not in the server's logs (captured at trace level).

const alnum = (min: number, max: number) => fc.stringMatching(new RegExp(`^[A-Za-z0-9]{${min},${max}}$`));
const withDigit = (s: string) => `${s}7Q`;

/** A secret and the key it sits under (null: any ordinary key — the value alone must give it away). */
type Planted = { secret: string; key: string | null };

const recognisableValue: fc.Arbitrary<Planted> = fc.oneof(
  alnum(36, 40).map((s) => `ghp_${s}`),
  alnum(30, 40).map((s) => `sk-ant-api03-${withDigit(s)}`),
  fc.tuple(alnum(10, 20), alnum(10, 30), alnum(20, 40)).map(([a, b, c]) => `eyJ${a}.eyJ${b}.${c}`),
  alnum(40, 64).map((s) => `-----BEGIN PRIVATE KEY-----\nMII${s}\n-----END PRIVATE KEY-----`),
  fc.stringMatching(/^[A-Z0-9]{16}$/).map((s) => `AKIA${s}`),
  alnum(20, 30).map((s) => `xoxb-1234-${s}`),
  alnum(24, 40).map((s) => `Bearer ${withDigit(s)}`),
  alnum(12, 20).map((s) => `postgres://app:${withDigit(s)}@db.internal:5432/prod`),
  alnum(20, 30).map((s) => `https://api.example.com/v1?access_token=${withDigit(s)}&page=2`),
).map((secret) => ({ secret, key: null }));

const secretKeyName = fc.constantFrom('password', 'apiKey', 'client_secret', 'Authorization', 'x-api-key', 'privateKey', 'sessionToken', 'Cookie', 'DB_PASSWORD', 'value');
const underSecretKey: fc.Arbitrary<Planted> = fc.tuple(secretKeyName, alnum(16, 32)).map(([key, s]) => ({ key, secret: `zz${s}` }));

const ordinaryKey = fc.constantFrom('owner', 'repo', 'config', 'items', 'meta', 'nested', 'data', 'options', 'headers', 'list');
/** Where in the arguments: a path of object keys and array positions, 0 to 6 deep. */
const path = fc.array(fc.oneof(ordinaryKey, fc.nat({ max: 3 })), { maxLength: 6 });
/** Harmless JSON around the secrets. */
const filler = fc.dictionary(ordinaryKey, fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.boolean(), fc.constant(null)), { maxKeys: 4 });

function plant(args: Record<string, unknown>, at: (string | number)[], planted: Planted): void {
  let node: any = args;
  for (const step of at) {
    if (typeof step === 'number') {
      if (!Array.isArray(node.list)) node.list = [];
      node = node.list;
      while (node.length <= step) node.push({});
      if (typeof node[step] !== 'object' || node[step] === null || Array.isArray(node[step])) node[step] = {};
      node = node[step];
    } else {
      if (typeof node[step] !== 'object' || node[step] === null || Array.isArray(node[step])) node[step] = {};
      node = node[step];
    }
  }
  const key = planted.key ?? `note_${Object.keys(node).length}`;
  node[key] = planted.key === null && Math.random() < 0.5 ? `see ${planted.secret} for details` : planted.secret;
}

describe('secrets in tool arguments', () => {
  let w: ProxyWorld;
  let c: CallerSetup;

  beforeAll(async () => {
    w = await startProxyWorld();
    c = await w.caller({ services: ['github'] });
  });
  afterAll(async () => w?.close());

  it('reach the upstream intact and are stored, served and logged nowhere', async () => {
    const allSecrets: string[] = [];
    await fc.assert(
      fc.asyncProperty(
        filler,
        fc.array(fc.tuple(path, fc.oneof(recognisableValue, underSecretKey)), { minLength: 1, maxLength: 4 }),
        fc.constantFrom('github__set_repository_secret', 'github__create_issue'),
        async (base, plantings, tool) => {
          const args: Record<string, unknown> = { owner: 'acme', repo: 'api', secret_name: 'NPM_TOKEN', title: 'x', ...base, [PROBE]: randomUUID() };
          // `value` is a catalog sensitive key of set_repository_secret only.
          for (const [at, planted] of plantings) plant(args, at, planted.key === 'value' && tool !== 'github__set_repository_secret' ? { ...planted, key: 'password' } : planted);
          const secrets = plantings.map(([, p]) => p.secret);
          allSecrets.push(...secrets);
          const sent = structuredClone(args);

          const r = await w.callTool(c.key, tool, args);
          expect(r.status).toBe(200);
          const received = w.upstreams.servers.github.calls.find((x) => (x.arguments as Record<string, unknown>)[PROBE] === args[PROBE]);
          expect(received?.arguments).toEqual(sent);

          const stored = await sql<{ t: string }>`select a::text as t from audit_entries a where tool_args ->> ${PROBE} = ${args[PROBE] as string}`.execute(w.db);
          expect(stored.rows).toHaveLength(1);
          expect(containsSecret(stored.rows[0].t, secrets)).toBe(false);
        },
      ),
      { numRuns: 60 },
    );

    // Every surface, once, over everything written above.
    await w.settled(c.agent.id);
    const db = await sql<{ t: string }>`select string_agg(a::text, E'\n') as t from audit_entries a`.execute(w.db);
    expect(containsSecret(db.rows[0].t, allSecrets)).toBe(false);

    const gql = await w.app.handler(
      new Request('http://wicket.test/graphql', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${w.owner.token}` },
        body: JSON.stringify({ query: '{ auditEntries(first: 500) { edges { node { id tool toolArgs reason upstreamError } } } }' }),
      }),
    );
    const gqlText = await gql.text();
    expect(gql.status).toBe(200);
    expect(JSON.parse(gqlText).data.auditEntries.edges.length).toBeGreaterThanOrEqual(60);
    expect(containsSecret(gqlText, allSecrets)).toBe(false);

    for (const path of ['/api/audit?limit=500', '/api/audit/export']) {
      const res = await w.app.handler(new Request(`http://wicket.test${path}`, { headers: { Authorization: `Bearer ${w.owner.token}` } }));
      const text = await res.text();
      expect(res.status, path).toBe(200);
      expect(text.length).toBeGreaterThan(1000);
      expect(containsSecret(text, allSecrets)).toBe(false);
    }

    const logs = w.logs.join('\n');
    expect(logs.length).toBeGreaterThan(0);
    expect(containsSecret(logs, allSecrets)).toBe(false);
  });

  it('an upstream error that echoes an argument is not stored verbatim', async () => {
    const secret = `zz${randomUUID().replace(/-/g, '')}`;
    w.onUpstreamCall = (call) => {
      throw new Error(`rejected credentials ${(call.arguments as Record<string, unknown>).password}`);
    };
    try {
      const args = { owner: 'acme', password: secret, [PROBE]: randomUUID() };
      const r = await w.callTool(c.key, 'github__list_repositories', args);
      expect(r.status).toBe(502);
      expect(r.body.error.message).toContain(secret); // the agent may see what its upstream said
      const rows = await w.settled(c.agent.id);
      const row = rows.find((e) => (e.tool_args as Record<string, unknown>)[PROBE] === args[PROBE])!;
      expect(row.upstream_error).toMatch(/JSON-RPC error .*withheld/);
      expect(JSON.stringify(row)).not.toContain(secret);
      expect(containsSecret(w.logs.join('\n'), [secret])).toBe(false);
    } finally {
      w.onUpstreamCall = null;
    }
  });

  it('NUL characters and lone surrogates in arguments do not cost the call its entry', async () => {
    const args = { owner: 'a\u0000b', repo: '\ud800x', ['k\u0000ey']: ['\udc00'], [PROBE]: randomUUID() };
    const r = await w.callTool(c.key, 'github__list_repositories', args);
    expect(r.status).toBe(200);
    const received = w.upstreams.servers.github.calls.find((x) => (x.arguments as Record<string, unknown>)[PROBE] === args[PROBE]);
    expect(received?.arguments).toEqual(args);
    const rows = await w.settled(c.agent.id);
    const row = rows.find((e) => (e.tool_args as Record<string, unknown>)[PROBE] === args[PROBE])!;
    expect(row.tool_args).toMatchObject({ owner: 'a\ufffdb', repo: '\ufffdx', 'k\ufffdey': ['\ufffd'] });
  });
});
