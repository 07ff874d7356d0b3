import { createHash } from 'node:crypto';

// Plausible answers of the imitated services, shaped like their real APIs' responses. Nothing here is
// stored: each server numbers what it "creates" from 42 upwards so results differ between calls.

type Args = Record<string, unknown>;

export interface FakeResultContext {
  /** 42, 43, 44… per server: issue and pull request numbers, message timestamps. */
  nextNumber(): number;
}

const text = (v: unknown, fallback: string): string => (typeof v === 'string' && v.length > 0 ? v : fallback);
const sha = (...parts: unknown[]) => createHash('sha1').update(JSON.stringify(parts)).digest('hex');
const slackTs = (n: number) => `${1_712_345_000 + n}.${String(n * 1_000 + 123).padStart(6, '0')}`;
const uuid = (...parts: unknown[]) => {
  const h = createHash('sha256').update(JSON.stringify(parts)).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
};

function github(tool: string, a: Args, ctx: FakeResultContext): unknown {
  const owner = text(a.owner, 'acme');
  const repo = text(a.repo, 'api');
  const base = `https://github.com/${owner}/${repo}`;
  switch (tool) {
    case 'list_repositories':
      return ['api', 'web', 'infra'].map((name, i) => ({
        full_name: `${owner}/${name}`,
        private: i !== 1,
        default_branch: 'main',
        html_url: `https://github.com/${owner}/${name}`,
      }));
    case 'get_file_contents': {
      const path = text(a.path, 'README.md');
      const content = `# ${repo}\n\nService of ${owner}. See docs/ for details.\n`;
      return { type: 'file', path, sha: sha(owner, repo, path), size: content.length, encoding: 'utf-8', content };
    }
    case 'search_code':
      return {
        total_count: 2,
        items: [
          { path: 'src/server.ts', repository: `${owner}/${repo}`, html_url: `${base}/blob/main/src/server.ts` },
          { path: 'src/routes/health.ts', repository: `${owner}/${repo}`, html_url: `${base}/blob/main/src/routes/health.ts` },
        ],
      };
    case 'list_issues':
      return [
        { number: 41, title: 'Flaky test in CI on Node 20', state: 'open', labels: ['bug'] },
        { number: 38, title: 'Document the rate limits', state: 'open', labels: ['docs'] },
      ];
    case 'list_pull_requests':
      return [{ number: 40, title: 'Bump dependencies', state: 'open', head: 'deps/weekly', base: 'main' }];
    case 'create_issue': {
      const number = ctx.nextNumber();
      return { number, url: `${base}/issues/${number}`, title: text(a.title, 'Untitled'), state: 'open' };
    }
    case 'add_issue_comment': {
      const id = 1_987_000_000 + ctx.nextNumber();
      return { id, html_url: `${base}/issues/${String(a.issue_number ?? 1)}#issuecomment-${id}` };
    }
    case 'create_pull_request': {
      const number = ctx.nextNumber();
      return { number, url: `${base}/pull/${number}`, state: 'open', draft: a.draft === true };
    }
    case 'merge_pull_request':
      return { merged: true, sha: sha(owner, repo, a.pullNumber), message: 'Pull Request successfully merged' };
    case 'create_or_update_file':
      return {
        content: { path: text(a.path, 'file'), sha: sha(a.path, a.content) },
        commit: { sha: sha(a.message, ctx.nextNumber()), message: text(a.message, 'Update file') },
      };
    case 'push_files':
      return {
        ref: `refs/heads/${text(a.branch, 'main')}`,
        commit: { sha: sha(a.files, ctx.nextNumber()), message: text(a.message, 'Update files') },
        files: Array.isArray(a.files) ? a.files.length : 0,
      };
    case 'set_repository_secret':
      return { name: text(a.secret_name, 'SECRET'), created_at: new Date().toISOString() };
    case 'delete_file':
      return { content: null, commit: { sha: sha(a.path, ctx.nextNumber()), message: text(a.message, 'Delete file') } };
    case 'delete_repository':
      return { deleted: `${owner}/${repo}` };
    default:
      return undefined;
  }
}

function slack(tool: string, a: Args, ctx: FakeResultContext): unknown {
  const channel = text(a.channel_id, 'C0123456789');
  switch (tool) {
    case 'list_channels':
      return {
        ok: true,
        channels: [
          { id: 'C01GENERAL0', name: 'general', is_private: false, num_members: 48 },
          { id: 'C02DEPLOYS0', name: 'deploys', is_private: false, num_members: 12 },
          { id: 'C03INCIDENT', name: 'incidents', is_private: true, num_members: 9 },
        ],
        response_metadata: { next_cursor: '' },
      };
    case 'read_messages':
      return {
        ok: true,
        messages: [
          { user: 'U0ALICE0001', text: 'Deploy of api v2.14.0 finished', ts: slackTs(1) },
          { user: 'U0BOB000002', text: 'Thanks! Watching the error rate.', ts: slackTs(2) },
        ],
        has_more: false,
      };
    case 'get_thread_replies':
      return { ok: true, messages: [{ user: 'U0BOB000002', text: 'Rolled back, looking into it.', ts: slackTs(3), thread_ts: text(a.thread_ts, slackTs(1)) }] };
    case 'search_messages':
      return { ok: true, query: text(a.query, ''), messages: { total: 1, matches: [{ channel: { id: 'C02DEPLOYS0', name: 'deploys' }, text: 'deploy finished', ts: slackTs(1) }] } };
    case 'get_user_profile':
      return { ok: true, profile: { real_name: 'Alice Martin', display_name: 'alice', title: 'Staff Engineer', tz: 'Europe/Paris' } };
    case 'post_message': {
      const ts = slackTs(ctx.nextNumber());
      return { ok: true, channel, ts, message: { text: text(a.text, ''), ts } };
    }
    case 'reply_to_thread':
      return { ok: true, channel, ts: slackTs(ctx.nextNumber()), thread_ts: text(a.thread_ts, slackTs(1)) };
    case 'add_reaction':
    case 'archive_channel':
      return { ok: true };
    case 'upload_file':
      return { ok: true, file: { id: `F0${String(ctx.nextNumber()).padStart(9, '0')}`, name: text(a.filename, 'file.txt'), size: text(a.content, '').length } };
    case 'send_webhook_message':
      return 'ok';
    case 'invite_user':
      return { ok: true, channel: { id: channel, members: Array.isArray(a.user_ids) ? a.user_ids : [] } };
    case 'delete_message':
      return { ok: true, channel, ts: text(a.ts, slackTs(1)) };
    default:
      return undefined;
  }
}

function linear(tool: string, a: Args, ctx: FakeResultContext): unknown {
  const team = text(a.teamId, 'ENG');
  switch (tool) {
    case 'list_issues':
    case 'search_issues':
      return {
        nodes: [
          { identifier: `${team}-41`, title: 'Login page times out behind the VPN', state: { name: 'In Progress' }, priority: 2 },
          { identifier: `${team}-38`, title: 'Add audit export to the admin console', state: { name: 'Todo' }, priority: 3 },
        ],
        pageInfo: { hasNextPage: false, endCursor: null },
      };
    case 'get_issue': {
      const identifier = text(a.id, 'ENG-41');
      return {
        id: uuid(identifier),
        identifier,
        title: 'Login page times out behind the VPN',
        description: 'Reported by two customers since the last release.',
        state: { name: 'In Progress' },
        priority: 2,
        url: `https://linear.app/acme/issue/${identifier}`,
      };
    }
    case 'list_teams':
      return { nodes: [{ id: uuid('ENG'), key: 'ENG', name: 'Engineering' }, { id: uuid('OPS'), key: 'OPS', name: 'Operations' }] };
    case 'list_projects':
      return { nodes: [{ id: uuid('project', 'q3'), name: 'Q3 reliability', state: 'started', targetDate: '2026-09-30' }] };
    case 'create_issue': {
      const identifier = `${team}-${ctx.nextNumber()}`;
      return { success: true, issue: { id: uuid(identifier), identifier, title: text(a.title, 'Untitled'), url: `https://linear.app/acme/issue/${identifier}` } };
    }
    case 'update_issue':
      return { success: true, issue: { identifier: text(a.id, 'ENG-41'), updatedAt: new Date().toISOString() } };
    case 'create_comment': {
      const id = uuid('comment', ctx.nextNumber());
      return { success: true, comment: { id, url: `https://linear.app/acme/issue/${text(a.issueId, 'ENG-41')}#comment-${id.slice(0, 8)}` } };
    }
    case 'create_project': {
      const id = uuid('project', ctx.nextNumber());
      return { success: true, project: { id, name: text(a.name, 'Project'), url: `https://linear.app/acme/project/${id.slice(0, 12)}` } };
    }
    case 'create_webhook':
      return { success: true, webhook: { id: uuid('webhook', ctx.nextNumber()), enabled: true } };
    case 'delete_issue':
    case 'archive_project':
      return { success: true };
    default:
      return undefined;
  }
}

const byService: Record<string, (tool: string, a: Args, ctx: FakeResultContext) => unknown> = { github, slack, linear };

/** A plausible result for a call of `tool` on `service`; a generic acknowledgement for unknown tools. */
export function fakeResult(service: string, tool: string, args: Args, ctx: FakeResultContext): unknown {
  return byService[service]?.(tool, args, ctx) ?? { ok: true, service, tool };
}
