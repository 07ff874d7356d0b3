import { PolicySkeleton } from '@/components/policies/policy-skeleton';

export default function NewPolicyLoading() {
  return <PolicySkeleton />;
}
