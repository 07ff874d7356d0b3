'use client';

import { RouteError } from '@/components/ui/route-error';

export default function PolicyError({ error, retry }: { error: unknown; retry: () => void }) {
  return <RouteError what="this policy" error={error} retry={retry} />;
}
