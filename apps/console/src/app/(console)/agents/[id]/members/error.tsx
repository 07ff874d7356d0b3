'use client';

import { RouteError } from '@/components/ui/route-error';

export default function AgentMembersError({ error, retry }: { error: unknown; retry: () => void }) {
  return <RouteError what="this agent's members" error={error} retry={retry} />;
}
