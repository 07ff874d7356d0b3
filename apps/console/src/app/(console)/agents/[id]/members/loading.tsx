import { MembersSkeleton } from '@/components/members/agent-members';

export default function AgentMembersLoading() {
  return <MembersSkeleton />;
}
