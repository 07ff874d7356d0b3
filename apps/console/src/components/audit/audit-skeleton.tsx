import { LoadingRegion, SkeletonLine, SkeletonRows } from '@/components/ui/skeleton';

/** Filters, toolbar and rows, in the audit view's layout. */
export function AuditSkeleton() {
  return (
    <LoadingRegion label="Loading the audit log">
      <div className="filters">
        {Array.from({ length: 8 }, (_, i) => (
          <div key={i} className="field">
            <SkeletonLine width="40%" height="0.8rem" />
            <SkeletonLine height="2rem" />
          </div>
        ))}
      </div>
      <div className="toolbar">
        <SkeletonLine width="5rem" height="1.75rem" />
        <SkeletonLine width="5rem" height="1.75rem" />
      </div>
      <SkeletonRows rows={12} columns={7} />
    </LoadingRegion>
  );
}
