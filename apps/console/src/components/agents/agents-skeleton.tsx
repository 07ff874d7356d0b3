import { LoadingRegion, SkeletonRows } from '@/components/ui/skeleton';

export function AgentsTableSkeleton() {
  return (
    <LoadingRegion label="Loading agents">
      <SkeletonRows rows={6} columns={6} />
    </LoadingRegion>
  );
}
