'use client';

import { RouteError } from '@/components/ui/route-error';

export default function AgentAuditError({ error, retry }: { error: unknown; retry: () => void }) {
  return <RouteError what="this agent's audit log" error={error} retry={retry} />;
}
