import type { Migration } from 'kysely';
import * as m20261122000000 from './20261122000000_initial.ts';
import * as m20261122054500 from './20261122054500_policy_match_filters.ts';
import * as m20261122080000 from './20261122080000_agent_policy_revision.ts';
import * as m20261122103000 from './20261122103000_audit_fillfactor.ts';

// Every migration file, by name. Static imports work in every runtime (tsx, vitest, Node's own
// loader through tsx); a test checks that each file in this folder is listed here.
export const migrations: Record<string, Migration> = {
  '20261122000000_initial': m20261122000000,
  '20261122054500_policy_match_filters': m20261122054500,
  '20261122080000_agent_policy_revision': m20261122080000,
  '20261122103000_audit_fillfactor': m20261122103000,
};
