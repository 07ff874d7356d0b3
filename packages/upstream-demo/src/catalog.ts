// Tool catalogs of the three demo connectors (spec §2 "Service / connector"). Names, descriptions and input
// schemas follow the public MCP servers they imitate (github/github-mcp-server, the Slack reference server,
// Linear's MCP server), so the console, the seed and the tests look like real traffic.

export type ToolTier = 'read' | 'write' | 'destructive';

/** The JSON Schema subset the catalogs use. */
export interface JsonSchema {
  type?: 'string' | 'integer' | 'number' | 'boolean' | 'array' | 'object';
  description?: string;
  enum?: readonly (string | number)[];
  default?: unknown;
  format?: string;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: readonly string[];
  additionalProperties?: boolean;
}

/** MCP requires a tool's input schema to describe an object. */
export interface ToolInputSchema extends JsonSchema {
  type: 'object';
  properties: Record<string, JsonSchema>;
}

export interface CatalogTool {
  /** Unprefixed, as the upstream knows it; agents address it as `<service>__<name>`. */
  name: string;
  description: string;
  tier: ToolTier;
  /** Argument keys whose values are never stored, at any depth (matched ignoring case and separators). */
  sensitiveKeys: string[];
  inputSchema: ToolInputSchema;
  /**
   * How to name the resource a call touches, from its arguments: `{name}` is replaced by that argument,
   * e.g. `{owner}/{repo}`. See `resolveResource`.
   */
  resourceTemplate?: string;
}

export interface ConnectorCatalog {
  /** Lower-case service key, as in `github__create_issue`. */
  service: string;
  /** Display name. */
  name: string;
  /** Cedar namespace of the service's actions, e.g. `GitHubMCP::Action::"create_issue"`. */
  cedarNamespace: string;
  tools: CatalogTool[];
}

// Schema builders, to keep the catalogs readable.
const str = (description: string, extra: Partial<JsonSchema> = {}): JsonSchema => ({ type: 'string', description, ...extra });
const int = (description: string, extra: Partial<JsonSchema> = {}): JsonSchema => ({ type: 'integer', description, ...extra });
const bool = (description: string, extra: Partial<JsonSchema> = {}): JsonSchema => ({ type: 'boolean', description, ...extra });
const list = (items: JsonSchema, description: string, extra: Partial<JsonSchema> = {}): JsonSchema => ({ type: 'array', items, description, ...extra });
const input = (properties: Record<string, JsonSchema>, required: string[] = []): ToolInputSchema =>
  required.length > 0 ? { type: 'object', properties, required } : { type: 'object', properties };

const perPage = int('Results per page (max 100)', { minimum: 1, maximum: 100, default: 30 });
const page = int('Page number for pagination (1-based)', { minimum: 1, default: 1 });
const owner = str('Repository owner (user or organization)');
const repo = str('Repository name');
const branch = str('Branch to commit to');

const github: ConnectorCatalog = {
  service: 'github',
  name: 'GitHub',
  cedarNamespace: 'GitHubMCP',
  tools: [
    {
      name: 'list_repositories',
      description: 'List repositories of a user or organization, or of the authenticated user when no owner is given.',
      tier: 'read',
      sensitiveKeys: [],
      inputSchema: input({
        owner: str('User or organization whose repositories to list'),
        type: str('Repository type filter', { enum: ['all', 'owner', 'member', 'public', 'private'], default: 'all' }),
        sort: str('Sort field', { enum: ['created', 'updated', 'pushed', 'full_name'], default: 'full_name' }),
        perPage,
        page,
      }),
      resourceTemplate: '{owner}',
    },
    {
      name: 'get_file_contents',
      description: 'Get the contents of a file or directory from a GitHub repository.',
      tier: 'read',
      sensitiveKeys: [],
      inputSchema: input(
        { owner, repo, path: str('Path to the file or directory'), ref: str('Git ref (branch, tag or commit SHA); default branch when omitted') },
        ['owner', 'repo', 'path'],
      ),
      resourceTemplate: '{owner}/{repo}',
    },
    {
      name: 'search_code',
      description: "Search for code across GitHub repositories using GitHub's code search syntax.",
      tier: 'read',
      sensitiveKeys: [],
      inputSchema: input({ query: str('Search query, e.g. "useState repo:facebook/react language:TypeScript"'), perPage, page }, ['query']),
    },
    {
      name: 'list_issues',
      description: 'List issues in a GitHub repository, with optional filters.',
      tier: 'read',
      sensitiveKeys: [],
      inputSchema: input(
        {
          owner,
          repo,
          state: str('Filter by state', { enum: ['open', 'closed', 'all'], default: 'open' }),
          labels: list(str('Label name'), 'Filter by labels'),
          since: str('Only issues updated at or after this time (ISO 8601)', { format: 'date-time' }),
          perPage,
          page,
        },
        ['owner', 'repo'],
      ),
      resourceTemplate: '{owner}/{repo}',
    },
    {
      name: 'list_pull_requests',
      description: 'List pull requests in a GitHub repository.',
      tier: 'read',
      sensitiveKeys: [],
      inputSchema: input(
        {
          owner,
          repo,
          state: str('Filter by state', { enum: ['open', 'closed', 'all'], default: 'open' }),
          base: str('Filter by base branch'),
          perPage,
          page,
        },
        ['owner', 'repo'],
      ),
      resourceTemplate: '{owner}/{repo}',
    },
    {
      name: 'create_issue',
      description: 'Create a new issue in a GitHub repository.',
      tier: 'write',
      sensitiveKeys: [],
      inputSchema: input(
        {
          owner,
          repo,
          title: str('Issue title'),
          body: str('Issue body (Markdown)'),
          labels: list(str('Label name'), 'Labels to apply'),
          assignees: list(str('GitHub login'), 'Users to assign'),
          milestone: int('Milestone number'),
        },
        ['owner', 'repo', 'title'],
      ),
      resourceTemplate: '{owner}/{repo}',
    },
    {
      name: 'add_issue_comment',
      description: 'Add a comment to an existing issue or pull request.',
      tier: 'write',
      sensitiveKeys: [],
      inputSchema: input({ owner, repo, issue_number: int('Issue or pull request number', { minimum: 1 }), body: str('Comment text (Markdown)') }, [
        'owner',
        'repo',
        'issue_number',
        'body',
      ]),
      resourceTemplate: '{owner}/{repo}',
    },
    {
      name: 'create_pull_request',
      description: 'Create a new pull request in a GitHub repository.',
      tier: 'write',
      sensitiveKeys: [],
      inputSchema: input(
        {
          owner,
          repo,
          title: str('Pull request title'),
          head: str('Branch containing the changes'),
          base: str('Branch to merge into'),
          body: str('Pull request description (Markdown)'),
          draft: bool('Create as a draft', { default: false }),
        },
        ['owner', 'repo', 'title', 'head', 'base'],
      ),
      resourceTemplate: '{owner}/{repo}',
    },
    {
      name: 'merge_pull_request',
      description: 'Merge a pull request.',
      tier: 'write',
      sensitiveKeys: [],
      inputSchema: input(
        {
          owner,
          repo,
          pullNumber: int('Pull request number', { minimum: 1 }),
          merge_method: str('Merge method', { enum: ['merge', 'squash', 'rebase'], default: 'merge' }),
          commit_title: str('Title of the merge commit'),
          commit_message: str('Extra detail for the merge commit'),
        },
        ['owner', 'repo', 'pullNumber'],
      ),
      resourceTemplate: '{owner}/{repo}',
    },
    {
      name: 'create_or_update_file',
      description: 'Create or update a single file in a GitHub repository. Requires the blob SHA when updating.',
      tier: 'write',
      // File contents may be proprietary; the audit keeps the path and the commit message.
      sensitiveKeys: ['content'],
      inputSchema: input(
        {
          owner,
          repo,
          path: str('Path where to create or update the file'),
          content: str('File content'),
          message: str('Commit message'),
          branch,
          sha: str('Blob SHA of the file being replaced (required for updates)'),
        },
        ['owner', 'repo', 'path', 'content', 'message', 'branch'],
      ),
      resourceTemplate: '{owner}/{repo}',
    },
    {
      name: 'push_files',
      description: 'Push several files to a branch in a single commit.',
      tier: 'write',
      sensitiveKeys: ['content'],
      inputSchema: input(
        {
          owner,
          repo,
          branch,
          files: list(
            { type: 'object', properties: { path: str('File path'), content: str('File content') }, required: ['path', 'content'] },
            'Files to push',
            { minItems: 1 },
          ),
          message: str('Commit message'),
        },
        ['owner', 'repo', 'branch', 'files', 'message'],
      ),
      resourceTemplate: '{owner}/{repo}',
    },
    {
      name: 'set_repository_secret',
      description: 'Create or update a GitHub Actions secret of a repository. The value is encrypted before upload.',
      tier: 'write',
      sensitiveKeys: ['value'],
      inputSchema: input(
        { owner, repo, secret_name: str('Secret name, e.g. NPM_TOKEN'), value: str('Plain-text secret value') },
        ['owner', 'repo', 'secret_name', 'value'],
      ),
      resourceTemplate: '{owner}/{repo}',
    },
    {
      name: 'delete_file',
      description: 'Delete a file from a GitHub repository.',
      tier: 'destructive',
      sensitiveKeys: [],
      inputSchema: input(
        { owner, repo, path: str('Path of the file to delete'), message: str('Commit message'), branch, sha: str('Blob SHA of the file') },
        ['owner', 'repo', 'path', 'message', 'branch'],
      ),
      resourceTemplate: '{owner}/{repo}',
    },
    {
      name: 'delete_repository',
      description: 'Delete a repository. This cannot be undone.',
      tier: 'destructive',
      sensitiveKeys: [],
      inputSchema: input({ owner, repo }, ['owner', 'repo']),
      resourceTemplate: '{owner}/{repo}',
    },
  ],
};

const channelId = str('Channel ID, e.g. C0123456789');
const messageTs = str('Message timestamp, e.g. 1712345678.123456');

const slack: ConnectorCatalog = {
  service: 'slack',
  name: 'Slack',
  cedarNamespace: 'SlackMCP',
  tools: [
    {
      name: 'list_channels',
      description: 'List public and private channels the bot can see, with pagination.',
      tier: 'read',
      sensitiveKeys: [],
      inputSchema: input({
        limit: int('Maximum number of channels to return', { minimum: 1, maximum: 200, default: 100 }),
        cursor: str('Pagination cursor for the next page'),
        types: str('Comma-separated channel types', { default: 'public_channel' }),
      }),
    },
    {
      name: 'read_messages',
      description: 'Read recent messages from a channel.',
      tier: 'read',
      sensitiveKeys: [],
      inputSchema: input(
        {
          channel_id: channelId,
          limit: int('Number of messages to return', { minimum: 1, maximum: 200, default: 10 }),
          oldest: str('Only messages after this timestamp'),
          latest: str('Only messages before this timestamp'),
        },
        ['channel_id'],
      ),
      resourceTemplate: '{channel_id}',
    },
    {
      name: 'get_thread_replies',
      description: 'Get all replies in a message thread.',
      tier: 'read',
      sensitiveKeys: [],
      inputSchema: input({ channel_id: channelId, thread_ts: messageTs }, ['channel_id', 'thread_ts']),
      resourceTemplate: '{channel_id}',
    },
    {
      name: 'search_messages',
      description: 'Search messages across the workspace.',
      tier: 'read',
      sensitiveKeys: [],
      inputSchema: input({ query: str('Search query, e.g. "deploy in:#ops from:@alice"'), count: int('Results to return', { minimum: 1, maximum: 100, default: 20 }) }, [
        'query',
      ]),
    },
    {
      name: 'get_user_profile',
      description: 'Get the profile of a workspace member.',
      tier: 'read',
      sensitiveKeys: [],
      inputSchema: input({ user_id: str('User ID, e.g. U0123456789') }, ['user_id']),
      resourceTemplate: '{user_id}',
    },
    {
      name: 'post_message',
      description: 'Post a new message to a channel.',
      tier: 'write',
      sensitiveKeys: [],
      inputSchema: input(
        { channel_id: channelId, text: str('Message text (mrkdwn)'), unfurl_links: bool('Unfurl links in the message', { default: true }) },
        ['channel_id', 'text'],
      ),
      resourceTemplate: '{channel_id}',
    },
    {
      name: 'reply_to_thread',
      description: 'Reply to a message thread.',
      tier: 'write',
      sensitiveKeys: [],
      inputSchema: input({ channel_id: channelId, thread_ts: messageTs, text: str('Reply text (mrkdwn)') }, ['channel_id', 'thread_ts', 'text']),
      resourceTemplate: '{channel_id}',
    },
    {
      name: 'add_reaction',
      description: 'Add an emoji reaction to a message.',
      tier: 'write',
      sensitiveKeys: [],
      inputSchema: input({ channel_id: channelId, timestamp: messageTs, reaction: str('Emoji name without colons, e.g. thumbsup') }, [
        'channel_id',
        'timestamp',
        'reaction',
      ]),
      resourceTemplate: '{channel_id}',
    },
    {
      name: 'upload_file',
      description: 'Upload a text file to a channel.',
      tier: 'write',
      sensitiveKeys: ['content'],
      inputSchema: input(
        {
          channel_id: channelId,
          filename: str('File name, e.g. report.csv'),
          content: str('File content'),
          title: str('Title shown in Slack'),
          initial_comment: str('Message posted with the file'),
        },
        ['channel_id', 'filename', 'content'],
      ),
      resourceTemplate: '{channel_id}',
    },
    {
      name: 'send_webhook_message',
      description: 'Send a message through an incoming webhook.',
      tier: 'write',
      // The webhook URL is itself the credential.
      sensitiveKeys: ['webhook_url'],
      inputSchema: input({ webhook_url: str('Incoming webhook URL', { format: 'uri' }), text: str('Message text') }, ['webhook_url', 'text']),
    },
    {
      name: 'invite_user',
      description: 'Invite one or more users to a channel.',
      tier: 'write',
      sensitiveKeys: [],
      inputSchema: input({ channel_id: channelId, user_ids: list(str('User ID'), 'Users to invite', { minItems: 1 }) }, ['channel_id', 'user_ids']),
      resourceTemplate: '{channel_id}',
    },
    {
      name: 'archive_channel',
      description: 'Archive a channel. Members lose access to posting in it.',
      tier: 'destructive',
      sensitiveKeys: [],
      inputSchema: input({ channel_id: channelId }, ['channel_id']),
      resourceTemplate: '{channel_id}',
    },
    {
      name: 'delete_message',
      description: 'Delete a message. This cannot be undone.',
      tier: 'destructive',
      sensitiveKeys: [],
      inputSchema: input({ channel_id: channelId, ts: messageTs }, ['channel_id', 'ts']),
      resourceTemplate: '{channel_id}',
    },
  ],
};

const issueId = str('Issue ID or identifier, e.g. ENG-123');
const first = int('Number of results', { minimum: 1, maximum: 250, default: 50 });

const linear: ConnectorCatalog = {
  service: 'linear',
  name: 'Linear',
  cedarNamespace: 'LinearMCP',
  tools: [
    {
      name: 'list_issues',
      description: 'List issues, optionally filtered by team, assignee, state or project.',
      tier: 'read',
      sensitiveKeys: [],
      inputSchema: input({
        teamId: str('Team ID or key, e.g. ENG'),
        assigneeId: str('Assignee user ID, or "me"'),
        state: str('Workflow state name, e.g. "In Progress"'),
        projectId: str('Project ID'),
        first,
        after: str('Pagination cursor'),
      }),
      resourceTemplate: '{teamId}',
    },
    {
      name: 'get_issue',
      description: 'Get an issue with its description, comments and attachments.',
      tier: 'read',
      sensitiveKeys: [],
      inputSchema: input({ id: issueId }, ['id']),
      resourceTemplate: '{id}',
    },
    {
      name: 'search_issues',
      description: 'Full-text search over issue titles and descriptions.',
      tier: 'read',
      sensitiveKeys: [],
      inputSchema: input({ query: str('Search text'), first }, ['query']),
    },
    {
      name: 'list_teams',
      description: 'List the teams of the workspace.',
      tier: 'read',
      sensitiveKeys: [],
      inputSchema: input({ first }),
    },
    {
      name: 'list_projects',
      description: 'List projects, optionally for one team.',
      tier: 'read',
      sensitiveKeys: [],
      inputSchema: input({ teamId: str('Team ID or key'), includeArchived: bool('Include archived projects', { default: false }), first }),
      resourceTemplate: '{teamId}',
    },
    {
      name: 'create_issue',
      description: 'Create a new issue.',
      tier: 'write',
      sensitiveKeys: [],
      inputSchema: input(
        {
          teamId: str('Team ID or key, e.g. ENG'),
          title: str('Issue title'),
          description: str('Issue description (Markdown)'),
          priority: int('Priority: 0 none, 1 urgent, 2 high, 3 medium, 4 low', { minimum: 0, maximum: 4 }),
          assigneeId: str('Assignee user ID'),
          labelIds: list(str('Label ID'), 'Labels to apply'),
          projectId: str('Project ID'),
        },
        ['teamId', 'title'],
      ),
      resourceTemplate: '{teamId}',
    },
    {
      name: 'update_issue',
      description: 'Update fields of an existing issue.',
      tier: 'write',
      sensitiveKeys: [],
      inputSchema: input(
        {
          id: issueId,
          title: str('New title'),
          description: str('New description (Markdown)'),
          stateId: str('Workflow state ID'),
          priority: int('Priority: 0 none, 1 urgent, 2 high, 3 medium, 4 low', { minimum: 0, maximum: 4 }),
          assigneeId: str('Assignee user ID'),
        },
        ['id'],
      ),
      resourceTemplate: '{id}',
    },
    {
      name: 'create_comment',
      description: 'Comment on an issue.',
      tier: 'write',
      sensitiveKeys: [],
      inputSchema: input({ issueId, body: str('Comment text (Markdown)') }, ['issueId', 'body']),
      resourceTemplate: '{issueId}',
    },
    {
      name: 'create_project',
      description: 'Create a project for one or more teams.',
      tier: 'write',
      sensitiveKeys: [],
      inputSchema: input(
        {
          name: str('Project name'),
          teamIds: list(str('Team ID'), 'Teams the project belongs to', { minItems: 1 }),
          description: str('Project description'),
          targetDate: str('Target date (YYYY-MM-DD)', { format: 'date' }),
        },
        ['name', 'teamIds'],
      ),
    },
    {
      name: 'create_webhook',
      description: 'Register a webhook that receives issue and comment events.',
      tier: 'write',
      // The signing secret is caught by name anyway; the receiving URL often embeds a token.
      sensitiveKeys: ['url', 'secret'],
      inputSchema: input(
        {
          url: str('HTTPS URL that receives the events', { format: 'uri' }),
          teamId: str('Team whose events to send'),
          resourceTypes: list(str('Resource type', { enum: ['Issue', 'Comment', 'Project', 'Cycle'] }), 'Event types', { minItems: 1 }),
          secret: str('Signing secret for the payloads'),
        },
        ['url', 'resourceTypes'],
      ),
      resourceTemplate: '{teamId}',
    },
    {
      name: 'delete_issue',
      description: 'Delete an issue (moved to trash, purged after 30 days).',
      tier: 'destructive',
      sensitiveKeys: [],
      inputSchema: input({ id: issueId }, ['id']),
      resourceTemplate: '{id}',
    },
    {
      name: 'archive_project',
      description: 'Archive a project and its issues.',
      tier: 'destructive',
      sensitiveKeys: [],
      inputSchema: input({ id: str('Project ID') }, ['id']),
    },
  ],
};

export const demoCatalogs: ConnectorCatalog[] = [github, slack, linear];

export function findDemoCatalog(service: string): ConnectorCatalog | undefined {
  return demoCatalogs.find((c) => c.service === service);
}

/**
 * A catalog as a connector to install (the input of core's ConnectorsService.upsert): its service,
 * name, Cedar namespace and tools, with where its upstream is (null: none) and the credential to send
 * it (undefined: keep the stored one).
 */
export function connectorOf(catalog: ConnectorCatalog, upstream: { upstreamUrl: string | null; credentials?: string | null }) {
  return {
    service: catalog.service,
    name: catalog.name,
    upstreamUrl: upstream.upstreamUrl,
    cedarNamespace: catalog.cedarNamespace,
    credentials: upstream.credentials,
    tools: catalog.tools.map((t) => ({ name: t.name, description: t.description, tier: t.tier, sensitiveKeys: t.sensitiveKeys, inputSchema: t.inputSchema })),
  };
}

/**
 * The resource a call touches, from the tool's `resourceTemplate` and the call's arguments, or null when the
 * tool has no template or an argument it needs is missing or not a string/number.
 */
export function resolveResource(tool: Pick<CatalogTool, 'resourceTemplate'>, args: unknown): string | null {
  if (!tool.resourceTemplate || args === null || typeof args !== 'object') return null;
  const values = args as Record<string, unknown>;
  let complete = true;
  const resource = tool.resourceTemplate.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const v = values[name];
    if (typeof v === 'string' || typeof v === 'number') return String(v);
    complete = false;
    return '';
  });
  return complete ? resource : null;
}
