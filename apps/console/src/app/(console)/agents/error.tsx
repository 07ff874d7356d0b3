'use client';

import { RouteError } from '@/components/ui/route-error';

export default function AgentsError({ error, retry }: { error: unknown; retry: () => void }) {
  return <RouteError what="the agents" error={error} retry={retry} />;
}
