import { OverviewSkeleton } from '@/components/overview/overview-skeleton';
import { SkeletonLine } from '@/components/ui/skeleton';

export default function OverviewLoading() {
  return (
    <section className="page">
      <div className="page-header">
        <SkeletonLine width="10rem" height="1.75rem" />
        <SkeletonLine width="28rem" height="2rem" />
      </div>
      <OverviewSkeleton />
    </section>
  );
}
