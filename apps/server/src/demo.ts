import type { Core } from '@wicket/core';

/** Placeholder: the demo installation and its local upstream MCP servers (db/seeds). */
export async function startDemo(_core: Core, _options: { ownerEmail?: string }): Promise<{ ownerAccountId?: string; stop(): Promise<void> }> {
  return { stop: async () => {} };
}
