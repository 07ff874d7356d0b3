import type { Metadata } from 'next';
import { AgentSettings } from '@/components/agents/agent-settings';

export const metadata: Metadata = { title: 'Agent settings' };

export default async function AgentSettingsPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return <AgentSettings agentId={id} />;
}
