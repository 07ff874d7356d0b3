import { createLogger, type SignInDelivery } from '@wicket/core';
import { buildApp, type App } from '../../apps/server/src/app.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { factories, TEST_SECRET, type Factories } from './factories.ts';

export interface TestApp {
  app: App;
  testDb: TestDatabase;
  f: Factories;
  /** In-process request: path relative to the app, e.g. '/api/audit?result=DENY'. */
  request(path: string, init?: RequestInit & { token?: string }): Promise<Response>;
  graphql<T = any>(query: string, variables?: Record<string, unknown>, token?: string): Promise<{ status: number; body: { data?: T; errors?: any } }>;
  /** Listen on a free loopback port (for WebSocket and end-to-end tests). */
  listen(): Promise<string>;
  close(): Promise<void>;
}

export async function startTestApp(
  options: { logLevel?: string; onQuery?: (sql: string) => void; delivery?: SignInDelivery } = {},
): Promise<TestApp> {
  const testDb = await createTestDatabase({ log: options.onQuery ? (e) => options.onQuery!(e.query.sql) : undefined });
  const logger = createLogger({ level: options.logLevel ?? 'silent' });
  const app = buildApp({ database: testDb.database, logger, serverSecret: TEST_SECRET, consoleOrigins: ['http://localhost:3000'], delivery: options.delivery });
  let baseUrl: string | undefined;
  const request = (path: string, init: RequestInit & { token?: string } = {}) => {
    const headers = new Headers(init.headers);
    if (init.token) headers.set('Authorization', `Bearer ${init.token}`);
    return app.handler(new Request(`http://wicket.test${path}`, { ...init, headers }));
  };
  return {
    app,
    testDb,
    f: factories(testDb.database),
    request,
    async graphql(query, variables, token) {
      const res = await request('/graphql', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ query, variables }),
        token,
      });
      return { status: res.status, body: await res.json() };
    },
    async listen() {
      if (!baseUrl) baseUrl = (await app.start(0)).url;
      return baseUrl;
    },
    async close() {
      await app.stop();
      await testDb.drop();
    },
  };
}
