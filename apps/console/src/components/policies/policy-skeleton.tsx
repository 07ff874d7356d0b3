import { LoadingRegion, SkeletonBlock, SkeletonLine } from '@/components/ui/skeleton';

/** Header, form and side column (Cedar, versions), in the policy page's layout. */
export function PolicySkeleton() {
  return (
    <LoadingRegion label="Loading policy">
      <div className="stack">
        <div className="page-header">
          <div className="stack">
            <SkeletonLine width="12rem" height="0.8rem" />
            <SkeletonLine width="18rem" height="1.75rem" />
          </div>
        </div>
        <div className="policy-layout">
          <div className="card stack">
            {Array.from({ length: 7 }, (_, i) => (
              <div key={i} className="field">
                <SkeletonLine width="25%" height="0.8rem" />
                <SkeletonLine height="2rem" />
              </div>
            ))}
          </div>
          <div className="stack">
            <div className="card">
              <SkeletonBlock height="10rem" />
            </div>
            <div className="card">
              <SkeletonBlock height="8rem" />
            </div>
          </div>
        </div>
      </div>
    </LoadingRegion>
  );
}
