import { LoadingRegion, SkeletonBlock, SkeletonLine } from '@/components/ui/skeleton';

export function OverviewSkeleton() {
  return (
    <LoadingRegion label="Loading traffic statistics">
      <div className="stack">
        <div className="stat-grid">
          {Array.from({ length: 4 }, (_, i) => (
            <div key={i} className="card stat">
              <SkeletonLine width="50%" />
              <SkeletonLine width="70%" height="1.75rem" />
            </div>
          ))}
        </div>
        <div className="card">
          <SkeletonLine width="20%" />
          <SkeletonBlock height="260px" />
        </div>
        <div className="card">
          <SkeletonLine width="25%" />
          <SkeletonBlock height="180px" />
        </div>
      </div>
    </LoadingRegion>
  );
}
