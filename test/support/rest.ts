import type { TestApp } from './app.ts';

/** Everything a REST write could change, to assert that a refused request changed nothing. */
export async function storedState(t: TestApp) {
  const db = t.testDb.database.db;
  return {
    agents: await db.selectFrom('agents').select(['id', 'status', 'updated_at']).orderBy('id').execute(),
    members: await db.selectFrom('members').select(['id', 'status', 'updated_at']).orderBy('id').execute(),
    keys: await db.selectFrom('member_keys').select(['id', 'revoked_at']).orderBy('id').execute(),
    activity: await db.selectFrom('admin_activity').selectAll().orderBy('id').execute(),
    audit: (await db.selectFrom('audit_entries').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n,
  };
}

export function jsonRequest(method: string, body: unknown, token?: string): RequestInit & { token?: string } {
  return { method, token, headers: { 'Content-Type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) };
}
