'use client';

import { RouteError } from '@/components/ui/route-error';

export default function NewPolicyError({ error, retry }: { error: unknown; retry: () => void }) {
  return <RouteError what="the new policy form" error={error} retry={retry} />;
}
