import type { ReactNode } from 'react';
import { AgentFrame } from '@/components/agents/agent-header';

/** The agent's header and tabs stay in place while the tab below changes. */
export default async function AgentLayout({ children, params }: { children: ReactNode; params: Promise<{ id: string }> }) {
  const { id } = await params;
  return <AgentFrame agentId={id}>{children}</AgentFrame>;
}
