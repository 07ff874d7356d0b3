import type { Metadata } from 'next';
import { AuditView } from '@/components/audit/audit-view';

export const metadata: Metadata = { title: 'Agent audit' };

/** The agent's Audit tab: the audit view with `filter.agentId` fixed to this agent. */
export default async function AgentAuditPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return <AuditView scopedAgentId={id} />;
}
