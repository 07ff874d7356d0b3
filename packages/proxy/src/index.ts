import { Hono } from 'hono';
import type { Core } from '@wicket/core';

/** Placeholder until the proxy lands. */
export function createMcpProxy(_core: Core): { routes: Hono; close(): Promise<void> } {
  return { routes: new Hono(), close: async () => {} };
}
