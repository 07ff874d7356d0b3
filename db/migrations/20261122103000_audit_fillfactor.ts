import { sql, type Kysely } from 'kysely';

// Frozen in time: imports nothing from packages/.
//
// Every forwarded call's entry is inserted before the call and updated once after it (its outcome:
// duration, upstream status or error). With pages filled to 100 %, that update finds no room beside the
// row, so PostgreSQL writes the new version on another page and adds it to each of the table's twelve
// indexes (none of which covers an outcome column). With 55 % of each new page left free (an updated row is a little longer: it gains its outcome), the update
// stays on the page (a HOT update: no index entry at all). Measured on the benchmark VM with fillfactor 50,
// 10,000 entries in batches of 100: outcome update 165–208 µs per row before, 86–110 µs after; every
// update HOT (before: none); table with indexes 19.9 MB instead of 24.2 MB (no index entries for the old
// versions); the insert 8–18 % slower (more pages). At 50 a few updates per page still found no room
// (37 of 40 in test/proxy/audit-commit.test.ts), hence 45. Existing pages keep their fill; only new pages
// are written this way.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table audit_entries set (fillfactor = 45)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table audit_entries reset (fillfactor)`.execute(db);
}
