import { LoadingRegion, SkeletonLine } from '@/components/ui/skeleton';

export default function SignInLoading() {
  return (
    <LoadingRegion label="Loading sign-in">
      <div className="card narrow stack">
        <SkeletonLine width="40%" height="1.5rem" />
        <SkeletonLine width="80%" />
        <SkeletonLine height="2.25rem" />
        <SkeletonLine width="30%" height="2.25rem" />
      </div>
    </LoadingRegion>
  );
}
