import type { Kysely } from 'kysely';
import { repo, type DB } from '@wicket/db';
import { recordActivity } from './activity.service.ts';
import { ValidationError } from './errors.ts';

/**
 * Retention is unlimited unless configured. A purge removes whole hours older than the cutoff (the
 * rollups of those hours go with them, so stats never count entries that are gone) and is itself
 * recorded as admin activity.
 */
export class RetentionService {
  constructor(private readonly db: Kysely<DB>) {}

  async purgeOlderThan(days: number, now = new Date()): Promise<{ cutoff: Date; removed: number }> {
    if (!Number.isInteger(days) || days < 1) throw new ValidationError('retention must be a whole number of days, at least 1', 'WICKET_RETENTION_DAYS');
    const cutoff = new Date(Math.floor((now.getTime() - days * 86_400_000) / 3_600_000) * 3_600_000);
    return this.db.transaction().execute(async (trx) => {
      const removed = await repo.purgeAuditEntriesBefore(trx, cutoff);
      await recordActivity(trx, null, {
        action: 'audit.retention.purge',
        targetType: 'audit_entries',
        targetId: null,
        agentId: null,
        after: { cutoff: cutoff.toISOString(), removed, retentionDays: days },
      });
      return { cutoff, removed };
    });
  }
}
