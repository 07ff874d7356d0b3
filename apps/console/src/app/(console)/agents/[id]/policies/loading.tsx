import { PoliciesSkeleton } from '@/components/policies/agent-policies';

export default function AgentPoliciesLoading() {
  return <PoliciesSkeleton />;
}
