'use client';

import { RouteError } from '@/components/ui/route-error';

export default function AgentPoliciesError({ error, retry }: { error: unknown; retry: () => void }) {
  return <RouteError what="this agent's policies" error={error} retry={retry} />;
}
