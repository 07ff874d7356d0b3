/** What an MCP client needs to call tools through Wicket with a member key. */
export function mcpClientConfig(apiUrl: string, key: string): string {
  return JSON.stringify(
    {
      mcpServers: {
        wicket: {
          type: 'http',
          url: `${apiUrl}/mcp`,
          headers: { Authorization: `Bearer ${key}` },
        },
      },
    },
    null,
    2,
  );
}

export function claudeCodeCommand(apiUrl: string, key: string): string {
  return `claude mcp add --transport http wicket ${apiUrl}/mcp --header "Authorization: Bearer ${key}"`;
}
