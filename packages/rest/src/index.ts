import { Hono } from 'hono';
import type { Core } from '@wicket/core';

/** Placeholder until the REST facade lands. */
export function createRestApi(_core: Core): Hono {
  return new Hono();
}
