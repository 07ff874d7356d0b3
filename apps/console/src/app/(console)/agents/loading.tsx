import { AgentsTableSkeleton } from '@/components/agents/agents-skeleton';
import { SkeletonLine } from '@/components/ui/skeleton';

export default function AgentsLoading() {
  return (
    <section className="page">
      <div className="page-header">
        <SkeletonLine width="8rem" height="1.75rem" />
      </div>
      <div className="toolbar">
        <SkeletonLine width="16rem" height="2rem" />
        <SkeletonLine width="8rem" height="2rem" />
      </div>
      <AgentsTableSkeleton />
    </section>
  );
}
