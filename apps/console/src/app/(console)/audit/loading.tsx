import { AuditSkeleton } from '@/components/audit/audit-skeleton';
import { SkeletonLine } from '@/components/ui/skeleton';

export default function AuditLoading() {
  return (
    <section className="page page-wide">
      <div className="page-header">
        <SkeletonLine width="8rem" height="1.75rem" />
      </div>
      <AuditSkeleton />
    </section>
  );
}
