export { createDatabase, type Database, type DatabaseKind, type DatabaseOptions } from './database.ts';
export { migrateToLatest, migrationsFolder } from './migrate.ts';
export { PGliteDialect } from './pglite-dialect.ts';
export type * from './types.ts';
export * as repo from './repositories/index.ts';
export type { AuditCriteria, AuditScope, AuditEntryInsert, AuditEntryRow, NewAuditEntryRow, KeysetPosition, StatsRow, StatsGranularity } from './repositories/audit-entry.repository.ts';
