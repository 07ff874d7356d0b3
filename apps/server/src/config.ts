import { z } from 'zod';

/** The environment, validated once. Only main.ts calls this. */
const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().default('127.0.0.1'),
  DATABASE_URL: z.string().url().optional(),
  WICKET_DATA_DIR: z.string().default('./.wicket'),
  WICKET_ADMIN_EMAIL: z.string().email().optional(),
  WICKET_ADMIN_TOKEN: z.string().min(16, 'WICKET_ADMIN_TOKEN must be at least 16 characters').optional(),
  WICKET_DEMO: z.enum(['0', '1', 'true', 'false']).default('0').transform((v) => v === '1' || v === 'true'),
  WICKET_SECRET: z.string().min(16, 'WICKET_SECRET must be at least 16 characters').optional(),
  WICKET_RETENTION_DAYS: z.coerce.number().int().min(1).optional(),
  CONSOLE_PORT: z.coerce.number().int().min(1).max(65535).default(3000),
  CONSOLE_ORIGIN: z.string().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_PRETTY: z.enum(['0', '1']).optional(),
  // MCP proxy (docs/proxy.md)
  WICKET_RATE_LIMIT_BURST: z.coerce.number().int().min(1).default(60),
  WICKET_RATE_LIMIT_PER_SECOND: z.coerce.number().positive().default(1),
  WICKET_UPSTREAM_TIMEOUT_MS: z.coerce.number().int().min(100).default(30_000),
  WICKET_TRUSTED_PROXY_HOPS: z.coerce.number().int().min(0).default(0),
  WICKET_PROXY_MAX_PENDING: z.coerce.number().int().min(1).default(256),
  WICKET_PROXY_CALLER_CACHE: z.coerce.number().int().min(0).default(10_000),
});

export type ServerConfig = z.infer<typeof schema>;

export function readConfig(env: NodeJS.ProcessEnv): ServerConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`invalid configuration:\n${lines.join('\n')}`);
  }
  return parsed.data;
}
