import { LoadingRegion, SkeletonLine } from '@/components/ui/skeleton';

export function SettingsSkeleton() {
  return (
    <LoadingRegion label="Loading settings">
      <div className="card settings-list">
        {Array.from({ length: 8 }, (_, i) => (
          <div key={i} className="row">
            <SkeletonLine width="8rem" />
            <SkeletonLine width="16rem" />
          </div>
        ))}
      </div>
    </LoadingRegion>
  );
}
