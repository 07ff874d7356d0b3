// npm run demo:traffic [-- --rate 2] [--duration 60] [--calls N] [--url http://localhost:4000]
//
// Drives live agent traffic through the running server's MCP proxy (POST /mcp), as real MCP clients would,
// so the console's live view, stats and audit log fill up. It needs an API token of an owner of the demo
// agents in WICKET_ADMIN_TOKEN, used for GraphQL only: to list the agents' members and to rotate their
// member keys (rotateMemberKey), which are then kept in memory for the proxy calls and never printed.
// Rotating revokes each member's previous key, as a rotation in the console would.
//
// Getting a token: start the server on an empty data folder with
//   WICKET_DEMO=1 WICKET_ADMIN_EMAIL=admin@wicket.local WICKET_ADMIN_TOKEN=<16+ characters> npm run start:server
// (the token is registered for the demo owner), or create one as the owner in the console / with the
// GraphQL mutation createApiToken, then: WICKET_ADMIN_TOKEN=<token> npm run demo:traffic
import { parseArgs } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { demoAccounts, demoArguments, demoAgents, type AgentKey } from './demo-model.ts';
import { Random } from './random.ts';

const { values: args } = parseArgs({
  options: {
    url: { type: 'string', default: process.env.WICKET_URL ?? `http://localhost:${process.env.PORT ?? 4000}` },
    rate: { type: 'string', default: '2' },
    duration: { type: 'string', default: '0' },
    calls: { type: 'string', default: '0' },
    concurrency: { type: 'string', default: '8' },
  },
});
const base = args.url.replace(/\/+$/, '');
const rate = Number(args.rate);
const durationMs = Number(args.duration) * 1000;
const maxCalls = Number(args.calls);
const concurrency = Math.max(1, Number(args.concurrency));
const token = process.env.WICKET_ADMIN_TOKEN;
if (!token) {
  console.error('WICKET_ADMIN_TOKEN is not set: an API token of the demo owner is needed to rotate member keys (see the top of db/seeds/traffic.ts).');
  process.exit(2);
}
if (!(rate > 0)) throw new Error('--rate must be a positive number of calls per second');

interface Caller {
  memberId: string;
  memberName: string;
  agentName: string;
  agentKey: AgentKey;
  weight: number;
  key: string;
  client?: Client;
  tools: string[];
}

async function graphql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T; errors?: { message: string }[] };
  if (!res.ok || body.errors?.length || !body.data) throw new Error(`GraphQL at ${base}/graphql failed (${res.status}): ${body.errors?.map((e) => e.message).join('; ') ?? 'no data'}`);
  return body.data;
}

const MEMBERS = `query { agents(first: 100, filter: { role: owner }) { edges { node { id name status members { id displayName status } } } } }`;
const ROTATE = `mutation($agentId: ID!, $memberId: ID!) {
  rotateMemberKey(agentId: $agentId, memberId: $memberId) { __typename ... on MemberKeyPayload { key keyId } ... on Error { message } }
}`;

/** Approved members of the owner's agents, plus rejected ones that keep trying (their calls are refused). */
async function prepareCallers(): Promise<Caller[]> {
  const data = await graphql<{ agents: { edges: { node: { id: string; name: string; status: string; members: { id: string; displayName: string; status: string }[] } }[] } }>(MEMBERS);
  const callers: Caller[] = [];
  for (const { node: agent } of data.agents.edges) {
    const spec = demoAgents.find((a) => a.name === agent.name);
    for (const m of agent.members) {
      if (m.status === 'pending') continue;
      const account = demoAccounts.find((a) => a.name === m.displayName)?.key ?? 'owner';
      const specMember = spec?.members.find((sm) => sm.account === account);
      const weight = (specMember?.weight ?? 1) * (m.status === 'rejected' ? 0.1 : 1) * (agent.status === 'disabled' ? 0.1 : 1);
      if (weight <= 0) continue;
      const r = await graphql<{ rotateMemberKey: { __typename: string; key?: string; message?: string } }>(ROTATE, { agentId: agent.id, memberId: m.id });
      if (!r.rotateMemberKey.key) {
        console.warn(`skipping ${m.displayName} on ${agent.name}: ${r.rotateMemberKey.message ?? r.rotateMemberKey.__typename}`);
        continue;
      }
      callers.push({ memberId: m.id, memberName: m.displayName, agentName: agent.name, agentKey: spec?.key ?? 'billing', weight, key: r.rotateMemberKey.key, tools: [] });
    }
  }
  return callers;
}

/** An MCP session per member key: initialize, then tools/list (the tools this member may call). */
async function connect(caller: Caller): Promise<void> {
  const client = new Client({ name: `wicket-demo-traffic (${caller.agentName})`, version: '1.0.0' });
  try {
    await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${caller.key}` } } }));
    caller.tools = (await client.listTools()).tools.map((t) => t.name);
    caller.client = client;
  } catch (err) {
    // A disabled agent or a rejected member: calls still go out, without a session, and are refused.
    caller.tools = [];
    console.warn(`${caller.memberName} on ${caller.agentName}: no MCP session (${(err as Error).message.slice(0, 120)})`);
  }
}

const counts = { allowed: 0, denied: 0, refused: 0, failed: 0 };
const denials = new Map<string, number>();

async function callTool(caller: Caller, name: string, toolArgs: Record<string, unknown>): Promise<void> {
  if (caller.client) {
    try {
      const result = await caller.client.callTool({ name, arguments: toolArgs });
      if (result.isError) counts.failed++;
      else counts.allowed++;
    } catch (err) {
      const message = (err as Error).message;
      if (/-32600|denied|not permit|forbid/i.test(message)) {
        counts.denied++;
        const reason = message.replace(/^MCP error -?\d+: /, '').slice(0, 100);
        denials.set(reason, (denials.get(reason) ?? 0) + 1);
      } else counts.failed++;
    }
    return;
  }
  const res = await fetch(`${base}/mcp`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${caller.key}`, 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: toolArgs } }),
  }).catch(() => null);
  if (res?.status === 403) counts.refused++;
  else counts.failed++;
  await res?.body?.cancel();
}

const CATALOG_TOOLS = ['github__list_issues', 'github__delete_file', 'slack__post_message', 'slack__delete_message', 'linear__create_issue', 'linear__update_issue'];

async function main(): Promise<void> {
  console.log(`preparing callers at ${base} …`);
  const callers = await prepareCallers();
  if (callers.length === 0) throw new Error('no members to call with: does this token belong to an owner of the demo agents?');
  await Promise.all(callers.map(connect));
  console.log(`${callers.length} member keys rotated and in use (${callers.filter((c) => c.client).length} with an MCP session); ${rate} calls/s, Ctrl-C to stop`);

  const rand = new Random(Date.now() % 2 ** 31);
  const weighted = callers.map((c): [Caller, number] => [c, c.weight]);
  const started = Date.now();
  let sent = 0;
  let inFlight = 0;
  let stopping = false;
  process.on('SIGINT', () => (stopping = true));
  const summary = () =>
    console.log(
      `${((Date.now() - started) / 1000).toFixed(0)} s: ${sent} calls, ${counts.allowed} allowed, ${counts.denied} denied, ${counts.refused} refused (403), ${counts.failed} failed`,
    );
  const timer = setInterval(summary, 10_000);

  while (!stopping && (!maxCalls || sent < maxCalls) && (!durationMs || Date.now() - started < durationMs)) {
    if (inFlight >= concurrency) {
      await new Promise((r) => setTimeout(r, 20));
      continue;
    }
    const caller = rand.weighted(weighted);
    // Mostly tools the proxy listed for this member; now and then one it hides, to show denials.
    const name = caller.tools.length && rand.chance(0.9) ? rand.pick(caller.tools) : rand.pick(CATALOG_TOOLS);
    const [service, tool] = name.split('__');
    inFlight++;
    sent++;
    void callTool(caller, name, demoArguments(service, tool, rand, caller.agentKey)).finally(() => inFlight--);
    // Poisson arrivals around the requested rate.
    await new Promise((r) => setTimeout(r, (-Math.log(1 - rand.next()) / rate) * 1000));
  }
  while (inFlight > 0) await new Promise((r) => setTimeout(r, 20));
  clearInterval(timer);
  summary();
  for (const [reason, n] of [...denials.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5)) console.log(`  ${n} × ${reason}`);
  await Promise.all(callers.map((c) => c.client?.close().catch(() => {})));
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
