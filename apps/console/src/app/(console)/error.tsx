'use client';

import { RouteError } from '@/components/ui/route-error';

export default function OverviewError({ error, retry }: { error: unknown; retry: () => void }) {
  return <RouteError what="the overview" error={error} retry={retry} />;
}
