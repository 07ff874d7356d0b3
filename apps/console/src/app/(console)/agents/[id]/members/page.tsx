import type { Metadata } from 'next';
import { AgentMembers } from '@/components/members/agent-members';

export const metadata: Metadata = { title: 'Agent members' };

export default async function AgentMembersPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return <AgentMembers agentId={id} />;
}
