import type { Metadata } from 'next';
import { AgentPolicies } from '@/components/policies/agent-policies';

export const metadata: Metadata = { title: 'Agent policies' };

export default async function AgentPoliciesPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return <AgentPolicies agentId={id} />;
}
