'use client';

import { RouteError } from '@/components/ui/route-error';

export default function AgentSettingsError({ error, retry }: { error: unknown; retry: () => void }) {
  return <RouteError what="this agent's settings" error={error} retry={retry} />;
}
