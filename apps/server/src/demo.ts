import type { Core } from '@wicket/core';
import { startDemoUpstreams } from '@wicket/upstream-demo';
import { installDemo } from '../../../db/seeds/demo.ts';

/**
 * Demo mode (WICKET_DEMO=1): on an empty database, the demo installation (db/seeds/demo.ts); on every
 * start, the three demo upstream MCP servers on free loopback ports, with the connectors pointed at them
 * so proxied calls are really forwarded. The ports change from start to start, hence no fixed URLs.
 */
export async function startDemo(core: Core, options: { ownerEmail?: string }): Promise<{ ownerAccountId?: string; stop(): Promise<void> }> {
  const demo = await installDemo(core, { ownerEmail: options.ownerEmail });
  if (demo.installed) core.logger.info({ event: 'demo_installed', ...demo.counts }, 'demo installation loaded: 4 agents, 3 connectors, policies with history and 30 days of traffic');

  const upstreams = await startDemoUpstreams();
  try {
    for (const [service, server] of Object.entries(upstreams.servers)) await core.connectors.setUpstreamUrl(service, server.url);
  } catch (err) {
    await upstreams.close();
    throw err;
  }
  core.logger.info({ upstreams: Object.fromEntries(Object.entries(upstreams.servers).map(([s, server]) => [s, server.url])) }, 'demo upstream MCP servers started');
  return { ownerAccountId: demo.ownerAccountId, stop: () => upstreams.close() };
}
