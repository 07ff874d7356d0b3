// The demo installation as data: who exists, which policies each agent had when (their versions and
// toggles over the last 30 days), and what traffic its agents send. installDemo() writes it, generate()
// replays its traffic in bulk, and both decide each simulated call with the real policy engine, so every
// stored decision, reason and matched-policy version is one the proxy would have produced.
import { precheckCall, redactArguments } from '@wicket/core';
import { PolicyEngine, localTimeIn, type Decision, type EnginePolicy, type PolicyContent } from '@wicket/policy';
import { demoCatalogs, type CatalogTool, type ConnectorCatalog } from '@wicket/upstream-demo';
import { Random } from './random.ts';

export const DEMO_SEED = 20261122;
export const DEMO_DAYS = 30;
export const DEFAULT_OWNER_EMAIL = 'admin@wicket.local';
export const HOUR_MS = 3_600_000;
const DAY_H = 24;

// ---------------------------------------------------------------------------------------------------
// People and agents

export type AccountKey = 'owner' | 'priya' | 'sam' | 'jordan' | 'mei' | 'casey';
export type AgentKey = 'billing' | 'support' | 'release' | 'docs';

export const demoAccounts: { key: AccountKey; email: string; name: string }[] = [
  { key: 'owner', email: DEFAULT_OWNER_EMAIL, name: 'Alex Rivera' },
  { key: 'priya', email: 'priya.raman@wicket.local', name: 'Priya Raman' },
  { key: 'sam', email: 'sam.okafor@wicket.local', name: 'Sam Okafor' },
  { key: 'jordan', email: 'jordan.lee@wicket.local', name: 'Jordan Lee' },
  { key: 'mei', email: 'mei.chen@wicket.local', name: 'Mei Chen' },
  { key: 'casey', email: 'casey@contractor.example', name: 'Casey Brooks (contractor)' },
];

/** A status that holds from `at` (hours relative to the installation time, negative = in the past). */
interface StatusChange<S> {
  at: number;
  status: S;
}

export interface MemberSpec {
  account: AccountKey;
  role: 'owner' | 'member';
  /** The first entry is when the membership was created and its status then; later entries are owner decisions. */
  statuses: StatusChange<'pending' | 'approved' | 'rejected'>[];
  /** Relative share of the agent's calls made with this member's key. */
  weight: number;
  /** Where the calls come from. */
  ip: string;
  /** Key rotations after the first key (hours). */
  rotations?: number[];
  /** Rejected members keep trying for a while; hours after the rejection their key stays in use. */
  triesAfterRejection?: number;
}

export interface AgentSpec {
  key: AgentKey;
  name: string;
  tags: string[];
  trustMode: 'trusted' | 'untrusted';
  timezone: string;
  createdAt: number;
  statuses: StatusChange<'active' | 'disabled'>[];
  /** Services enabled on the agent. */
  services: string[];
  /** Relative share of calls per service, including services not enabled (those calls are denied). */
  serviceWeights: Record<string, number>;
  /** Peak calls per hour on a weekday, before the diurnal curve. */
  peakPerHour: number;
  /** Per tool weight overrides; default by tier: read 10, write 3.5, destructive 0.4. */
  toolWeights?: Record<string, number>;
  members: MemberSpec[];
}

const OWNER_IP = '203.0.113.24';

export const demoAgents: AgentSpec[] = [
  {
    key: 'billing',
    name: 'billing-bot',
    tags: ['finance', 'production'],
    trustMode: 'trusted',
    timezone: 'America/New_York',
    createdAt: -45 * DAY_H,
    statuses: [{ at: -45 * DAY_H, status: 'active' }],
    services: ['github', 'slack', 'linear'],
    serviceWeights: { github: 3, slack: 4, linear: 3 },
    peakPerHour: 4,
    toolWeights: { 'github:create_issue': 5, 'github:add_issue_comment': 4, 'slack:post_message': 8, 'github:delete_file': 0.5, 'github:set_repository_secret': 0.4 },
    members: [
      { account: 'owner', role: 'owner', statuses: [{ at: -45 * DAY_H, status: 'approved' }], weight: 1, ip: OWNER_IP },
      { account: 'priya', role: 'member', statuses: [{ at: -44 * DAY_H, status: 'approved' }], weight: 5, ip: '10.20.4.17', rotations: [-10 * DAY_H + 3] },
      { account: 'sam', role: 'member', statuses: [{ at: -40 * DAY_H, status: 'approved' }], weight: 3, ip: '198.51.100.7' },
      { account: 'mei', role: 'member', statuses: [{ at: -2 * DAY_H - 5, status: 'pending' }], weight: 0, ip: '198.51.100.61' },
    ],
  },
  {
    key: 'support',
    name: 'support-triage',
    tags: ['support', 'customer-facing'],
    trustMode: 'untrusted',
    timezone: 'Europe/Berlin',
    createdAt: -38 * DAY_H,
    statuses: [{ at: -38 * DAY_H, status: 'active' }],
    services: ['slack', 'linear', 'github'],
    serviceWeights: { slack: 6, linear: 5, github: 0.5 },
    peakPerHour: 5,
    toolWeights: { 'slack:reply_to_thread': 8, 'slack:add_reaction': 5, 'linear:create_comment': 6, 'linear:create_issue': 4, 'slack:delete_message': 0.6 },
    members: [
      { account: 'owner', role: 'owner', statuses: [{ at: -38 * DAY_H, status: 'approved' }], weight: 0.5, ip: OWNER_IP },
      { account: 'jordan', role: 'member', statuses: [{ at: -37 * DAY_H, status: 'approved' }], weight: 5, ip: '10.40.2.31' },
      { account: 'sam', role: 'member', statuses: [{ at: -36 * DAY_H, status: 'approved' }], weight: 3, ip: '10.40.9.4' },
      {
        account: 'casey',
        role: 'member',
        statuses: [
          { at: -33 * DAY_H, status: 'pending' },
          { at: -32 * DAY_H, status: 'approved' },
          { at: -15 * DAY_H + 10, status: 'rejected' },
        ],
        weight: 2,
        ip: '2001:db8:4::25',
        triesAfterRejection: 40,
      },
    ],
  },
  {
    key: 'release',
    name: 'release-captain',
    tags: ['engineering', 'ci'],
    trustMode: 'trusted',
    timezone: 'UTC',
    createdAt: -60 * DAY_H,
    // The emergency stop: after a burst of destructive calls it was disabled and stayed off.
    statuses: [
      { at: -60 * DAY_H, status: 'active' },
      { at: -4 * DAY_H + 2, status: 'disabled' },
    ],
    services: ['github', 'slack'],
    serviceWeights: { github: 7, slack: 3 },
    peakPerHour: 3,
    toolWeights: { 'github:create_pull_request': 6, 'github:merge_pull_request': 5, 'github:push_files': 5, 'slack:post_message': 6 },
    members: [
      { account: 'owner', role: 'owner', statuses: [{ at: -60 * DAY_H, status: 'approved' }], weight: 1, ip: OWNER_IP },
      { account: 'priya', role: 'member', statuses: [{ at: -58 * DAY_H, status: 'approved' }], weight: 2, ip: '10.20.4.17' },
      { account: 'jordan', role: 'member', statuses: [{ at: -50 * DAY_H, status: 'approved' }], weight: 4, ip: '10.60.0.12' },
    ],
  },
  {
    key: 'docs',
    name: 'docs-writer',
    tags: ['docs', 'content'],
    trustMode: 'trusted',
    timezone: 'Asia/Tokyo',
    createdAt: -20 * DAY_H,
    statuses: [{ at: -20 * DAY_H, status: 'active' }],
    services: ['github', 'linear'],
    serviceWeights: { github: 6, linear: 2, slack: 0.3 },
    peakPerHour: 2.5,
    toolWeights: { 'github:get_file_contents': 12, 'github:create_or_update_file': 6, 'github:create_pull_request': 3 },
    members: [
      { account: 'owner', role: 'owner', statuses: [{ at: -20 * DAY_H, status: 'approved' }], weight: 1, ip: OWNER_IP },
      { account: 'priya', role: 'owner', statuses: [{ at: -20 * DAY_H, status: 'approved' }], weight: 3, ip: '10.20.4.17' },
      { account: 'mei', role: 'member', statuses: [{ at: -19 * DAY_H, status: 'approved' }], weight: 4, ip: '198.51.100.61' },
    ],
  },
];

/** Hours in which an agent misbehaves: its calls lean to destructive tools (the incident before the stop). */
const INCIDENTS: { agent: AgentKey; from: number; to: number }[] = [{ agent: 'release', from: -4 * DAY_H - 3, to: -4 * DAY_H + 2 }];

// ---------------------------------------------------------------------------------------------------
// Policies: each with its versions (content as saved at `at`) and its enabled/disabled history.

export interface PolicySpec {
  agent: AgentKey;
  /** The key, derived from the first version's name and kept when the name changes. */
  key: string;
  /** Who saved it (an owner of the agent). */
  author: AccountKey;
  versions: { at: number; content: (member: (account: AccountKey) => string) => PolicyContent }[];
  /** Enabled from creation unless listed otherwise here. */
  toggles?: StatusChange<boolean>[];
}

const all = { type: 'all_members' } as const;
const weekdays = [1, 2, 3, 4, 5];
const GITHUB_READS = ['list_repositories', 'get_file_contents', 'search_code', 'list_issues', 'list_pull_requests'];
const SLACK_READS = ['list_channels', 'read_messages', 'get_thread_replies', 'search_messages', 'get_user_profile'];

export const demoPolicies: PolicySpec[] = [
  // billing-bot ------------------------------------------------------------------------------------
  {
    agent: 'billing',
    key: 'block-destructive-github-ops',
    author: 'owner',
    versions: [
      {
        at: -29 * DAY_H,
        content: () => ({
          name: 'Block destructive GitHub ops',
          service: 'github',
          effect: 'forbid',
          tools: ['delete_repository'],
          principal: all,
          denyMessage: 'Deleting repositories is blocked for billing-bot. Ask in #platform-ops.',
        }),
      },
      {
        at: -16 * DAY_H,
        content: () => ({
          name: 'Block destructive GitHub ops',
          service: 'github',
          effect: 'forbid',
          tools: ['delete_repository', 'delete_file'],
          principal: all,
          denyMessage: 'Destructive GitHub operations are blocked for billing-bot: ask a human in #platform-ops.',
        }),
      },
      {
        at: -5 * DAY_H,
        content: () => ({
          name: 'Block destructive GitHub ops',
          service: 'github',
          effect: 'forbid',
          tools: ['delete_repository', 'delete_file', 'set_repository_secret'],
          principal: all,
          denyMessage: 'Destructive GitHub operations (deleting files or repositories, changing secrets) need a human: open a ticket in #platform-ops.',
        }),
      },
    ],
  },
  {
    agent: 'billing',
    key: 'allow-read-tools',
    author: 'owner',
    versions: [
      { at: -29 * DAY_H, content: () => ({ name: 'Allow read tools', service: 'github', effect: 'permit', tools: GITHUB_READS.slice(0, 4), principal: all }) },
      { at: -20 * DAY_H, content: () => ({ name: 'Allow read tools', service: 'github', effect: 'permit', tools: GITHUB_READS, principal: all }) },
    ],
  },
  {
    agent: 'billing',
    key: 'billing-repo-issues',
    author: 'owner',
    versions: [
      {
        at: -28 * DAY_H,
        content: () => ({
          name: 'Billing repo issues',
          service: 'github',
          effect: 'permit',
          tools: ['create_issue', 'add_issue_comment'],
          principal: all,
          conditions: [{ key: 'repo', op: 'eq', value: 'billing-service' }],
        }),
      },
      {
        at: -12 * DAY_H,
        content: () => ({
          name: 'Billing repos: issues and comments',
          service: 'github',
          effect: 'permit',
          tools: ['create_issue', 'add_issue_comment'],
          principal: all,
          conditions: [{ key: 'repo', op: 'startsWith', value: 'billing' }],
        }),
      },
    ],
  },
  {
    agent: 'billing',
    key: 'business-hours-slack-posting',
    author: 'owner',
    versions: [
      {
        at: -29 * DAY_H,
        content: () => ({
          name: 'Business hours Slack posting',
          service: 'slack',
          effect: 'permit',
          tools: ['post_message'],
          principal: all,
          timeWindow: { daysOfWeek: weekdays, hoursFrom: 9, hoursTo: 17 },
        }),
      },
      {
        at: -14 * DAY_H,
        content: () => ({
          name: 'Business hours Slack posting',
          service: 'slack',
          effect: 'permit',
          tools: ['post_message', 'reply_to_thread'],
          principal: all,
          timeWindow: { daysOfWeek: weekdays, hoursFrom: 8, hoursTo: 18 },
        }),
      },
    ],
  },
  {
    agent: 'billing',
    key: 'allow-slack-reads',
    author: 'owner',
    versions: [
      { at: -29 * DAY_H, content: () => ({ name: 'Allow Slack reads', service: 'slack', effect: 'permit', tools: SLACK_READS.slice(0, 2), principal: all }) },
      { at: -22 * DAY_H, content: () => ({ name: 'Allow Slack reads', service: 'slack', effect: 'permit', tools: SLACK_READS, principal: all }) },
    ],
  },
  {
    // Turned on for the month-end close, then off again: while it was on, billing-bot's Linear reads were
    // denied too (a forbid alone permits nothing), which is why it was switched off early.
    agent: 'billing',
    key: 'freeze-linear-writes-during-close',
    author: 'owner',
    versions: [
      {
        at: -13 * DAY_H,
        content: () => ({
          name: 'Freeze Linear writes during close',
          service: 'linear',
          effect: 'forbid',
          tools: ['create_issue', 'update_issue'],
          principal: all,
          denyMessage: 'Linear is frozen for the month-end close.',
        }),
      },
      {
        at: -13 * DAY_H + 4,
        content: () => ({
          name: 'Freeze Linear writes during close',
          service: 'linear',
          effect: 'forbid',
          tools: ['create_issue', 'update_issue', 'create_project'],
          principal: all,
          denyMessage: 'Linear is frozen for the month-end close; writes resume on the 3rd. Urgent? Ask #finance-ops.',
        }),
      },
    ],
    toggles: [
      { at: -13 * DAY_H, status: true },
      { at: -11 * DAY_H + 6, status: false },
    ],
  },
  // support-triage ----------------------------------------------------------------------------------
  {
    agent: 'support',
    key: 'allow-read-tools',
    author: 'owner',
    versions: [
      { at: -30 * DAY_H, content: () => ({ name: 'Allow read tools', service: 'slack', effect: 'permit', tools: ['read_messages', 'get_thread_replies', 'search_messages'], principal: all }) },
      { at: -18 * DAY_H, content: () => ({ name: 'Allow read tools', service: 'slack', effect: 'permit', tools: SLACK_READS, principal: all }) },
    ],
  },
  {
    agent: 'support',
    key: 'support-replies-in-threads',
    author: 'owner',
    versions: [
      {
        at: -30 * DAY_H,
        content: () => ({ name: 'Support replies in threads', service: 'slack', effect: 'permit', tools: ['reply_to_thread'], principal: all, callerIps: ['10.40.0.0/16'] }),
      },
      {
        at: -7 * DAY_H,
        content: () => ({
          name: 'Support replies in threads',
          service: 'slack',
          effect: 'permit',
          tools: ['reply_to_thread', 'add_reaction'],
          principal: all,
          callerIps: ['10.40.0.0/16'],
        }),
      },
    ],
  },
  {
    agent: 'support',
    key: 'never-delete-slack-history',
    author: 'owner',
    versions: [
      {
        at: -30 * DAY_H,
        content: () => ({
          name: 'Never delete Slack history',
          service: 'slack',
          effect: 'forbid',
          tools: ['delete_message'],
          principal: all,
          denyMessage: 'support-triage may not delete Slack messages. Escalate to #support-leads.',
        }),
      },
      {
        at: -10 * DAY_H,
        content: () => ({
          name: 'Never delete Slack history',
          service: 'slack',
          effect: 'forbid',
          tools: ['delete_message', 'archive_channel'],
          principal: all,
          denyMessage: 'support-triage may not delete messages or archive channels. Escalate to #support-leads.',
        }),
      },
    ],
  },
  {
    agent: 'support',
    key: 'triage-linear-issues',
    author: 'owner',
    versions: [
      { at: -30 * DAY_H, content: () => ({ name: 'Triage Linear issues', service: 'linear', effect: 'permit', tools: ['list_issues', 'get_issue', 'search_issues', 'create_comment'], principal: all }) },
      {
        at: -15 * DAY_H,
        content: () => ({ name: 'Triage Linear issues', service: 'linear', effect: 'permit', tools: ['list_issues', 'get_issue', 'search_issues', 'create_comment', 'create_issue', 'list_teams'], principal: all }),
      },
      {
        at: -3 * DAY_H,
        content: (m) => ({
          name: 'Triage Linear issues',
          service: 'linear',
          effect: 'permit',
          tools: ['list_issues', 'get_issue', 'search_issues', 'create_comment', 'create_issue', 'list_teams', 'update_issue'],
          principal: { type: 'specific_members', memberIds: [m('owner'), m('jordan'), m('sam')] },
        }),
      },
    ],
  },
  // release-captain ---------------------------------------------------------------------------------
  {
    agent: 'release',
    key: 'release-prs-and-reads',
    author: 'owner',
    versions: [
      {
        at: -30 * DAY_H,
        content: () => ({ name: 'Release PRs and reads', service: 'github', effect: 'permit', tools: [...GITHUB_READS.slice(0, 2), 'list_pull_requests', 'create_pull_request', 'merge_pull_request'], principal: all }),
      },
      {
        at: -11 * DAY_H,
        content: () => ({ name: 'Release PRs and reads', service: 'github', effect: 'permit', tools: [...GITHUB_READS, 'create_pull_request', 'merge_pull_request'], principal: all }),
      },
    ],
  },
  {
    agent: 'release',
    key: 'release-branch-pushes',
    author: 'owner',
    versions: [
      {
        at: -30 * DAY_H,
        content: () => ({
          name: 'Release branch pushes',
          service: 'github',
          effect: 'permit',
          tools: ['push_files', 'create_or_update_file'],
          principal: all,
          conditions: [{ key: 'branch', op: 'startsWith', value: 'release/' }],
        }),
      },
      {
        at: -11 * DAY_H,
        content: () => ({
          name: 'Release branch pushes',
          service: 'github',
          effect: 'permit',
          tools: ['push_files', 'create_or_update_file'],
          principal: all,
          conditions: [{ key: 'branch', op: 'startsWith', value: 'release' }],
        }),
      },
    ],
  },
  {
    agent: 'release',
    key: 'no-friday-merges',
    author: 'owner',
    versions: [
      {
        at: -25 * DAY_H,
        content: () => ({
          name: 'No Friday merges',
          service: 'github',
          effect: 'forbid',
          tools: ['merge_pull_request'],
          principal: all,
          timeWindow: { daysOfWeek: [5] },
          denyMessage: 'No merges on Fridays. Wait for Monday, or ask the release manager to merge by hand.',
        }),
      },
      {
        at: -9 * DAY_H,
        content: () => ({
          name: 'No Friday or weekend merges',
          service: 'github',
          effect: 'forbid',
          tools: ['merge_pull_request'],
          principal: all,
          timeWindow: { daysOfWeek: [5, 6, 0] },
          denyMessage: 'No merges from Friday to Sunday. Wait for Monday, or ask the release manager to merge by hand.',
        }),
      },
    ],
  },
  {
    agent: 'release',
    key: 'announce-releases',
    author: 'owner',
    versions: [
      {
        at: -30 * DAY_H,
        content: () => ({ name: 'Announce releases', service: 'slack', effect: 'permit', tools: ['post_message'], principal: all, conditions: [{ key: 'channel_id', op: 'eq', value: 'C04RELEASES' }] }),
      },
      {
        at: -20 * DAY_H,
        content: () => ({
          name: 'Announce releases',
          service: 'slack',
          effect: 'permit',
          tools: ['post_message', 'reply_to_thread', 'add_reaction'],
          principal: all,
          conditions: [{ key: 'channel_id', op: 'eq', value: 'C04RELEASES' }],
        }),
      },
    ],
  },
  // docs-writer -------------------------------------------------------------------------------------
  {
    agent: 'docs',
    key: 'docs-repo-only',
    author: 'priya',
    versions: [
      {
        at: -20 * DAY_H,
        content: () => ({
          name: 'Docs repo only',
          service: 'github',
          effect: 'permit',
          tools: ['get_file_contents', 'search_code', 'list_pull_requests', 'create_or_update_file', 'create_pull_request'],
          principal: all,
          conditions: [{ key: 'repo', op: 'eq', value: 'docs' }],
        }),
      },
      {
        at: -6 * DAY_H,
        content: () => ({
          name: 'Docs repos only',
          service: 'github',
          effect: 'permit',
          tools: ['get_file_contents', 'search_code', 'list_pull_requests', 'create_or_update_file', 'create_pull_request'],
          principal: all,
          conditions: [{ key: 'repo', op: 'startsWith', value: 'docs' }],
        }),
      },
    ],
  },
  {
    agent: 'docs',
    key: 'block-destructive-github-ops',
    author: 'priya',
    versions: [
      {
        at: -20 * DAY_H,
        content: () => ({
          name: 'Block destructive GitHub ops',
          service: 'github',
          effect: 'forbid',
          tools: ['delete_file', 'delete_repository'],
          principal: all,
          denyMessage: 'docs-writer never deletes on GitHub.',
        }),
      },
      {
        at: -6 * DAY_H,
        content: () => ({
          name: 'Block destructive GitHub ops',
          service: 'github',
          effect: 'forbid',
          tools: ['delete_file', 'delete_repository'],
          principal: all,
          denyMessage: 'docs-writer never deletes on GitHub: remove pages by editing the sidebar, and ask #docs to delete files.',
        }),
      },
    ],
  },
  {
    // A draft that was never switched on.
    agent: 'docs',
    key: 'allow-all-github-writes-trial',
    author: 'priya',
    versions: [
      { at: -2 * DAY_H, content: () => ({ name: 'Allow all GitHub writes (trial)', service: 'github', effect: 'permit', tools: [], principal: all }) },
      {
        at: -2 * DAY_H + 1,
        content: (m) => ({ name: 'Allow all GitHub writes (trial)', service: 'github', effect: 'permit', tools: [], principal: { type: 'specific_members', memberIds: [m('mei')] } }),
      },
    ],
    toggles: [{ at: -2 * DAY_H, status: false }],
  },
];

export function catalogOf(service: string): ConnectorCatalog {
  const c = demoCatalogs.find((x) => x.service === service);
  if (!c) throw new Error(`no demo catalog for service ${service}`);
  return c;
}

/** The state in force at `at` (hours): the last change at or before it, else the first. */
export function statusAt<S>(changes: StatusChange<S>[], at: number): S {
  let current = changes[0].status;
  for (const c of changes) if (c.at <= at) current = c.status;
  return current;
}

// ---------------------------------------------------------------------------------------------------
// The world: the specs bound to database ids and to a point in time (the installation time).

export interface DemoIds {
  accounts: Record<AccountKey, string>;
  /** Display names as stored on the members (an existing owner account keeps its own name). */
  accountNames: Record<AccountKey, string>;
  agents: Record<AgentKey, string>;
  /** `${agent}:${account}` → member id */
  members: Record<string, string>;
  /** `${agent}:${policyKey}` → policy id */
  policies: Record<string, string>;
  /** member id → key ids in force from the given time (ms), oldest first */
  keys: Record<string, { keyId: string; from: number }[]>;
}

export interface SimulatedEntry {
  timestamp: Date;
  agent_id: string;
  agent_name: string;
  member_id: string;
  member_name: string;
  member_key_id: string | null;
  session_id: string;
  service: string;
  tool: string;
  action: string;
  resource: string;
  caller_ip: string;
  tool_args: unknown;
  decision: 'ALLOW' | 'DENY';
  reason: string;
  policy_id: string | null;
  matched_policy_ids: string[];
  matched_policies: { id: string; key: string; name: string; version: number; effect: string }[];
  principal: string;
  duration_ms: number;
  upstream_status: string | null;
  upstream_error: string | null;
  completed_at: Date;
}

/** Secrets planted in simulated tool arguments; none of them may ever reach the database. */
export const plantedSecrets: string[] = [];

export class DemoWorld {
  /** Whole hour at or before the installation time: every change in the history lands on an hour. */
  readonly anchor: number;
  private readonly engine = new PolicyEngine();
  private readonly sessions = new Map<string, string>();
  private readonly policyCache = new Map<string, EnginePolicy[]>();
  private readonly revisions = new WeakMap<EnginePolicy[], string>();

  constructor(
    readonly ids: DemoIds,
    installedAt: Date,
    private readonly rand: Random = new Random(DEMO_SEED),
  ) {
    this.anchor = Math.floor(installedAt.getTime() / HOUR_MS) * HOUR_MS;
  }

  /** Absolute time of an offset in hours. */
  time(at: number): Date {
    return new Date(this.anchor + at * HOUR_MS);
  }

  private hoursOf(t: number): number {
    return (t - this.anchor) / HOUR_MS;
  }

  memberId(agent: AgentKey, account: AccountKey): string {
    const id = this.ids.members[`${agent}:${account}`];
    if (!id) throw new Error(`demo member ${agent}:${account} is missing`);
    return id;
  }

  /** The agent's policies as the engine saw them at `t`: the version then current, enabled or not. */
  policiesAt(agent: AgentSpec, t: number): EnginePolicy[] {
    const h = this.hoursOf(t);
    const state: [PolicySpec, number, boolean][] = [];
    for (const p of demoPolicies) {
      if (p.agent !== agent.key || p.versions[0].at > h) continue;
      let version = 1;
      p.versions.forEach((v, i) => {
        if (v.at <= h) version = i + 1;
      });
      state.push([p, version, policyEnabledAt(p, h)]);
    }
    // The same list object for the same state, so the engine and pickTool see one revision per period.
    const revision = `${agent.key}|${state.map(([p, v, e]) => `${p.key}:${v}:${e ? 1 : 0}`).join(',')}`;
    let policies = this.policyCache.get(revision);
    if (!policies) {
      policies = state.map(([p, version, enabled]) => {
        const content = p.versions[version - 1].content((account) => this.memberId(agent.key, account));
        return { id: this.ids.policies[`${agent.key}:${p.key}`], key: p.key, name: content.name, version, enabled, content };
      });
      this.policyCache.set(revision, policies);
      this.revisions.set(policies, revision);
    }
    return policies;
  }

  /** Expected calls of an agent in the hour starting at `t` (weekday/hour curve in its timezone). */
  expectedCalls(agent: AgentSpec, t: number): number {
    const h = this.hoursOf(t);
    if (h < agent.createdAt) return 0;
    const local = localTimeIn(new Date(t), agent.timezone);
    const hour = local?.hour ?? 12;
    const weekend = local ? local.dayOfWeek === 0 || local.dayOfWeek === 6 : false;
    const curve = hour < 7 ? 0.12 : hour < 9 ? 0.55 : hour < 12 ? 1 : hour < 13 ? 0.75 : hour < 18 ? 0.95 : hour < 21 ? 0.45 : 0.22;
    let rate = agent.peakPerHour * curve * (weekend ? 0.3 : 1);
    if (statusAt(agent.statuses, h) === 'disabled') rate *= 0.08; // a retry loop somewhere keeps knocking
    if (INCIDENTS.some((i) => i.agent === agent.key && h >= i.from && h < i.to)) rate *= 4;
    return rate;
  }

  /** Members whose keys are used at `t`, with their weights. */
  private callersAt(agent: AgentSpec, h: number): [MemberSpec, number][] {
    const out: [MemberSpec, number][] = [];
    for (const m of agent.members) {
      if (m.weight <= 0 || m.statuses[0].at > h) continue;
      const status = statusAt(m.statuses, h);
      if (status === 'approved') out.push([m, m.weight]);
      else if (status === 'rejected' && m.triesAfterRejection) {
        const rejectedAt = m.statuses.find((s) => s.status === 'rejected')!.at;
        if (h < rejectedAt + m.triesAfterRejection) out.push([m, m.weight]);
      }
    }
    return out;
  }

  private keyIdAt(memberId: string, t: number): string | null {
    let current: string | null = null;
    for (const k of this.ids.keys[memberId] ?? []) if (k.from <= t) current = k.keyId;
    return current;
  }

  private sessionId(memberId: string, t: number): string {
    // An agent session lasts a few hours; the id is stable within it.
    const slot = `${memberId}:${Math.floor(t / (3 * HOUR_MS))}`;
    let id = this.sessions.get(slot);
    if (!id) this.sessions.set(slot, (id = `${this.rand.hex(8)}-${this.rand.hex(4)}-4${this.rand.hex(3)}-a${this.rand.hex(3)}-${this.rand.hex(12)}`));
    return id;
  }

  /**
   * Tools are drawn by tier (reads most), with the agent's own overrides. Agents mostly call what their
   * policies permit (tools/list hides what they could never call), so tools no enabled permit names are
   * rare; destructive tools stay in the mix to show forbids and deny messages.
   */
  private pickTool(agent: AgentSpec, service: string, t: number): CatalogTool {
    const h = this.hoursOf(t);
    const incident = INCIDENTS.some((i) => i.agent === agent.key && h >= i.from && h < i.to);
    const policies = this.policiesAt(agent, t).filter((p) => p.enabled && p.content.service === service);
    const permits = policies.filter((p) => p.content.effect === 'permit');
    const permitted = permits.some((p) => p.content.tools.length === 0) ? null : new Set(permits.flatMap((p) => p.content.tools));
    const tools = catalogOf(service).tools.map((tool): [CatalogTool, number] => {
      let w = agent.toolWeights?.[`${service}:${tool.name}`] ?? (tool.tier === 'read' ? 10 : tool.tier === 'write' ? 3.5 : 0.4);
      if (policies.length > 0 && permitted && !permitted.has(tool.name) && tool.tier !== 'destructive') w *= 0.06;
      if (incident && tool.tier === 'destructive') w *= 60;
      return [tool, w];
    });
    return this.rand.weighted(tools);
  }

  /** One tool call of `agent` at time `t` (ms), decided as the proxy would have decided it. */
  simulate(agent: AgentSpec, t: number): SimulatedEntry | null {
    const h = this.hoursOf(t);
    const callers = this.callersAt(agent, h);
    if (callers.length === 0) return null;
    const member = this.rand.weighted(callers);
    const memberId = this.memberId(agent.key, member.account);
    const service = this.rand.weighted(Object.entries(agent.serviceWeights));
    const tool = this.pickTool(agent, service, t);
    const catalog = catalogOf(service);
    const args = demoArguments(service, tool.name, this.rand, agent.key);
    const timestamp = new Date(t);

    // The proxy's own pre-checks (agent active, member approved, service enabled), then the engine.
    const policies = this.policiesAt(agent, t);
    const decision: Pick<Decision, 'decision' | 'reason' | 'matched' | 'deciding' | 'action' | 'principal' | 'resource'> =
      precheckCall({
        agent: { name: agent.name, status: statusAt(agent.statuses, h) },
        member: { status: statusAt(member.statuses, h) },
        service,
        namespace: catalog.cedarNamespace,
        tool: tool.name,
        memberId,
        serviceEnabled: agent.services.includes(service),
      }) ??
      this.engine.decide(
        { agentId: this.ids.agents[agent.key], revision: this.revisions.get(policies)!, policies },
        {
          agent: { id: this.ids.agents[agent.key], trustMode: agent.trustMode, timezone: agent.timezone },
          member: { id: memberId },
          service,
          namespace: catalog.cedarNamespace,
          tool: tool.name,
          arguments: args,
          time: timestamp,
          callerIp: member.ip,
        },
      );

    let duration: number;
    let upstreamStatus: string | null = null;
    let upstreamError: string | null = null;
    if (decision.decision === 'DENY') {
      duration = this.rand.int(1, 6);
    } else {
      const median = tool.tier === 'read' ? 160 : tool.tier === 'write' ? 380 : 290;
      duration = Math.max(12, Math.round(this.rand.logNormal(median, 0.55)));
      // Outcomes in the proxy's words (packages/proxy/src/mcp-route.ts): the upstream's HTTP status, or none.
      const r = this.rand.next();
      if (r < 0.004) {
        duration = 30_000;
        upstreamError = 'timeout after 30000 ms';
      } else if (r < 0.01) {
        upstreamStatus = '502';
        upstreamError = 'HTTP 502';
      } else if (r < 0.025) {
        upstreamStatus = '200';
        upstreamError = this.rand.pick(['the tool reported an error (isError)', 'JSON-RPC error -32602: Invalid arguments for tool']);
      } else {
        upstreamStatus = '200';
      }
    }

    return {
      timestamp,
      agent_id: this.ids.agents[agent.key],
      agent_name: agent.name,
      member_id: memberId,
      member_name: this.ids.accountNames[member.account],
      member_key_id: this.keyIdAt(memberId, t),
      session_id: this.sessionId(memberId, t),
      service,
      tool: tool.name,
      action: decision.action,
      resource: decision.resource,
      caller_ip: member.ip,
      tool_args: redactArguments(args, { sensitiveKeys: tool.sensitiveKeys }),
      decision: decision.decision,
      reason: decision.reason,
      policy_id: decision.deciding?.id ?? null,
      matched_policy_ids: decision.matched.map((p) => p.id),
      matched_policies: decision.matched.map((p) => ({ id: p.id, key: p.key, name: p.name, version: p.version, effect: p.effect })),
      principal: decision.principal,
      duration_ms: duration,
      upstream_status: upstreamStatus,
      upstream_error: upstreamError,
      completed_at: new Date(t + duration),
    };
  }

  /** Every call of every agent in the hour starting at `hourStart`, in time order. */
  simulateHour(hourStart: number, volume = 1): SimulatedEntry[] {
    const out: SimulatedEntry[] = [];
    for (const agent of demoAgents) {
      const n = poisson(this.rand, this.expectedCalls(agent, hourStart) * volume);
      for (let i = 0; i < n; i++) {
        const e = this.simulate(agent, hourStart + Math.floor(this.rand.next() * HOUR_MS));
        if (e) out.push(e);
      }
    }
    return out.sort((a, b) => a.timestamp.getTime() - b.timestamp.getTime());
  }

  /** `count` calls whose agents are drawn in proportion to their traffic in that hour (bulk templates). */
  sampleHour(hourStart: number, count: number, span = HOUR_MS): SimulatedEntry[] {
    const weights = demoAgents.map((a): [AgentSpec, number] => [a, this.expectedCalls(a, hourStart)]).filter(([, w]) => w > 0);
    const out: SimulatedEntry[] = [];
    if (weights.length === 0) return out;
    for (let attempts = 0; out.length < count && attempts < count * 4; attempts++) {
      const e = this.simulate(this.rand.weighted(weights), hourStart + Math.floor(this.rand.next() * span));
      if (e) out.push(e);
    }
    return out;
  }

  /** Expected calls of all agents in the hour starting at `hourStart`. */
  expectedCallsAll(hourStart: number): number {
    return demoAgents.reduce((sum, a) => sum + this.expectedCalls(a, hourStart), 0);
  }
}

function poisson(rand: Random, lambda: number): number {
  if (lambda <= 0) return 0;
  if (lambda > 30) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * (rand.next() + rand.next() + rand.next() - 1.5) * 2));
  const limit = Math.exp(-lambda);
  let k = 0;
  let p = rand.next();
  while (p > limit) {
    k++;
    p *= rand.next();
  }
  return k;
}

/** Whether a policy is enabled at `at` (hours): its toggles, else enabled from its creation. */
export function policyEnabledAt(spec: PolicySpec, at: number): boolean {
  return spec.toggles ? statusAt(spec.toggles, at) : true;
}

/** Versions saved and toggles after creation, in time order: the admin activity the history leaves. */
export function policyEvents(spec: PolicySpec): { at: number; kind: 'created' | 'saved' | 'toggled'; version: number; enabled: boolean }[] {
  type PolicyEvent = { at: number; kind: 'created' | 'saved' | 'toggled'; version: number; enabled: boolean };
  const events = spec.versions.map((v, i): PolicyEvent => ({ at: v.at, kind: i === 0 ? 'created' : 'saved', version: i + 1, enabled: policyEnabledAt(spec, v.at) }));
  for (const t of spec.toggles ?? []) {
    if (t.at > spec.versions[0].at) events.push({ at: t.at, kind: 'toggled', version: 0, enabled: t.status });
  }
  return events.sort((a, b) => a.at - b.at);
}

// ---------------------------------------------------------------------------------------------------
// Tool arguments that look like what agents send, with a secret planted now and then.

const ORG = 'acme';
const REPOS: Record<AgentKey, [string, number][]> = {
  billing: [['billing-service', 6], ['billing-web', 3], ['invoices', 1], ['payments-gateway', 1], ['infra', 0.5]],
  support: [['helpdesk', 3], ['status-page', 1], ['api', 1]],
  release: [['api', 3], ['web', 3], ['mobile', 2], ['infra', 1], ['billing-service', 1]],
  docs: [['docs', 8], ['docs-site', 4], ['api', 0.6], ['handbook', 0.6]],
};
const CHANNELS = ['C01GENERAL', 'C02SUPPORT', 'C03INCIDENTS', 'C04RELEASES', 'C05BILLING', 'C06ENG'];
const TEAMS = ['ENG', 'SUP', 'FIN', 'DOC', 'OPS'];
const ISSUE_TITLES = [
  'Invoice PDF shows the wrong VAT rate for EU customers',
  'Refund webhook retried 12 times',
  'Customer cannot reset 2FA',
  'Export to CSV times out for large accounts',
  'Stripe payout reconciliation off by one day',
  'Docs: rate limit table is outdated',
  'Flaky test in checkout e2e suite',
  'Add retry budget to the payments client',
  'Support macro links to a removed page',
  'Release 4.18 checklist',
];
const MESSAGES = [
  'Deploy of billing-service v2.31.0 finished :white_check_mark:',
  'Heads up: nightly reconciliation found 3 mismatched invoices, details in thread',
  'Thanks for reporting! We are looking into it and will update this thread.',
  'Release 4.18 is rolling out to 10% of customers.',
  'Could someone from #platform-ops review the retry settings?',
  'Ticket SUP-2213 escalated to engineering.',
  'Summary of today\'s failed payments: 14 card_declined, 2 expired_card.',
];
const PATHS = ['README.md', 'docs/api/rate-limits.md', 'docs/guides/webhooks.md', 'src/invoices/vat.ts', 'CHANGELOG.md', 'config/retry.yaml', 'docs/getting-started.md'];
const QUERIES = ['retry budget', 'vat rate', 'webhook signature', 'is:open label:bug', 'refund', 'rate limit', 'deprecated endpoint'];

function fakeToken(rand: Random, kind: 'github' | 'slack' | 'bearer' | 'openai'): string {
  // Built at run time so no credential-shaped literal sits in the source; recorded so tests can look for it.
  const value =
    kind === 'github'
      ? `ghp_${rand.alnum(36)}`
      : kind === 'slack'
        ? `xoxb-${rand.int(100000000, 999999999)}-${rand.alnum(24)}`
        : kind === 'bearer'
          ? `Bearer ${rand.alnum(40)}`
          : `sk-${rand.alnum(40)}`;
  if (plantedSecrets.length < 10_000) plantedSecrets.push(kind === 'bearer' ? value.slice(7) : value);
  return value;
}

export function demoArguments(service: string, tool: string, rand: Random, agent: AgentKey): Record<string, unknown> {
  const repo = rand.weighted(REPOS[agent]);
  const channel = agent === 'release' && rand.chance(0.7) ? 'C04RELEASES' : rand.pick(CHANNELS);
  const slackTs = () => `${1_760_000_000 + rand.int(0, 9_999_999)}.${String(rand.int(0, 999_999)).padStart(6, '0')}`;
  const issue = () => `${rand.pick(TEAMS)}-${rand.int(100, 2999)}`;
  const branch = agent === 'release' ? rand.weighted([[`release/4.${rand.int(10, 19)}`, 6], [`release-${rand.int(10, 19)}`, 1], ['main', 2], [`fix/${rand.hex(6)}`, 1]] as const) : rand.pick(['main', `docs/${rand.hex(5)}`, `fix/${rand.hex(6)}`]);
  const gh = { owner: ORG, repo };
  switch (`${service}:${tool}`) {
    case 'github:list_repositories':
      return { owner: ORG, type: rand.pick(['all', 'private']), perPage: 50 };
    case 'github:get_file_contents':
      return { ...gh, path: rand.pick(PATHS), ...(rand.chance(0.3) ? { ref: branch } : {}) };
    case 'github:search_code':
      return { query: `${rand.pick(QUERIES)} repo:${ORG}/${repo}`, perPage: 20 };
    case 'github:list_issues':
      return { ...gh, state: rand.pick(['open', 'open', 'closed', 'all']), labels: rand.chance(0.4) ? ['bug'] : [], perPage: 30 };
    case 'github:list_pull_requests':
      return { ...gh, state: 'open', ...(rand.chance(0.4) ? { base: 'main' } : {}) };
    case 'github:create_issue': {
      const args: Record<string, unknown> = { ...gh, title: rand.pick(ISSUE_TITLES), body: 'Found while reconciling last night\'s run. Steps to reproduce in the linked ticket.', labels: ['triage'] };
      // Agents paste logs; sometimes a log line carries a token.
      if (rand.chance(0.15)) args.body = `Failing request:\n\ncurl -H "Authorization: ${fakeToken(rand, 'bearer')}" https://api.acme.test/v1/invoices\n\nreturns 500.`;
      return args;
    }
    case 'github:add_issue_comment':
      return { ...gh, issue_number: rand.int(100, 2400), body: rand.pick(['Reproduced on staging.', 'Fixed in the latest release, closing soon.', 'Adding the billing team for visibility.']) };
    case 'github:create_pull_request':
      return { ...gh, title: rand.pick(['Release 4.18', 'Update rate limit docs', 'Bump payments client to 3.2', 'Fix VAT rounding']), head: branch, base: 'main', draft: rand.chance(0.2) };
    case 'github:merge_pull_request':
      return { ...gh, pullNumber: rand.int(900, 2600), merge_method: rand.pick(['squash', 'merge']) };
    case 'github:create_or_update_file': {
      const content = rand.chance(0.12) ? `# config\napi_token: ${fakeToken(rand, 'github')}\n` : `# ${rand.pick(ISSUE_TITLES)}\n\nUpdated by ${agent}.\n`;
      return { ...gh, path: rand.pick(PATHS), content, message: 'docs: refresh page', branch };
    }
    case 'github:push_files':
      return { ...gh, branch, message: 'chore(release): bump versions', files: [{ path: 'package.json', content: '{ "version": "4.18.0" }' }, { path: 'CHANGELOG.md', content: '## 4.18.0\n- fixes' }] };
    case 'github:set_repository_secret':
      return { ...gh, secret_name: rand.pick(['NPM_TOKEN', 'STRIPE_WEBHOOK_SECRET', 'SENTRY_DSN']), value: fakeToken(rand, 'openai') };
    case 'github:delete_file':
      return { ...gh, path: rand.pick(PATHS), message: 'remove outdated file', branch };
    case 'github:delete_repository':
      return { ...gh };
    case 'slack:list_channels':
      return { limit: 100, types: 'public_channel,private_channel' };
    case 'slack:read_messages':
      return { channel_id: channel, limit: rand.pick([10, 20, 50]) };
    case 'slack:get_thread_replies':
      return { channel_id: channel, thread_ts: slackTs() };
    case 'slack:search_messages':
      return { query: rand.pick(['refund in:#support', 'deploy in:#releases', 'outage', 'invoice failed']), count: 20 };
    case 'slack:get_user_profile':
      return { user_id: `U0${rand.alnum(9).toUpperCase()}` };
    case 'slack:post_message':
      return { channel_id: channel, text: rand.chance(0.05) ? `bot token for the staging app, until the vault is back: ${fakeToken(rand, 'slack')}` : rand.pick(MESSAGES) };
    case 'slack:reply_to_thread':
      return { channel_id: channel, thread_ts: slackTs(), text: rand.pick(MESSAGES) };
    case 'slack:add_reaction':
      return { channel_id: channel, timestamp: slackTs(), reaction: rand.pick(['eyes', 'white_check_mark', 'thumbsup', 'rocket']) };
    case 'slack:upload_file':
      return { channel_id: channel, filename: 'failed-payments.csv', content: 'invoice,amount,reason\nINV-1021,120.00,card_declined\n', title: 'Failed payments' };
    case 'slack:send_webhook_message':
      return { webhook_url: `https://hooks.slack.com/services/T0${rand.alnum(8)}/B0${rand.alnum(8)}/${rand.alnum(24)}`, text: rand.pick(MESSAGES) };
    case 'slack:invite_user':
      return { channel_id: channel, user_ids: [`U0${rand.alnum(9).toUpperCase()}`] };
    case 'slack:archive_channel':
      return { channel_id: channel };
    case 'slack:delete_message':
      return { channel_id: channel, ts: slackTs() };
    case 'linear:list_issues':
      return { teamId: rand.pick(TEAMS), state: rand.pick(['Todo', 'In Progress', 'Triage']), first: 50 };
    case 'linear:get_issue':
      return { id: issue() };
    case 'linear:search_issues':
      return { query: rand.pick(QUERIES), first: 25 };
    case 'linear:list_teams':
      return { first: 50 };
    case 'linear:list_projects':
      return { teamId: rand.pick(TEAMS), includeArchived: false };
    case 'linear:create_issue': {
      const args: Record<string, unknown> = { teamId: rand.pick(TEAMS), title: rand.pick(ISSUE_TITLES), description: 'Reported through support; see the Slack thread.', priority: rand.int(1, 4) };
      if (rand.chance(0.08)) args.api_key = fakeToken(rand, 'openai');
      return args;
    }
    case 'linear:update_issue':
      return { id: issue(), stateId: rand.pick(['state-in-progress', 'state-done', 'state-triage']), priority: rand.int(1, 4) };
    case 'linear:create_comment':
      return { issueId: issue(), body: rand.pick(['Customer confirmed the fix.', 'Linked Slack thread with logs.', 'Raising priority: 3 more reports today.']) };
    case 'linear:create_project':
      return { name: `Q${rand.int(1, 4)} billing cleanup`, teamIds: ['FIN'], targetDate: '2027-03-31' };
    case 'linear:create_webhook':
      return { url: 'https://hooks.acme.test/linear', teamId: rand.pick(TEAMS), resourceTypes: ['Issue'], secret: fakeToken(rand, 'slack') };
    case 'linear:delete_issue':
      return { id: issue() };
    case 'linear:archive_project':
      return { id: `prj_${rand.hex(8)}` };
    default:
      return {};
  }
}

