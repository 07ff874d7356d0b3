import { PolicySkeleton } from '@/components/policies/policy-skeleton';

export default function PolicyLoading() {
  return (
    <section className="page page-wide">
      <PolicySkeleton />
    </section>
  );
}
