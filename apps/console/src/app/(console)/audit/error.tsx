'use client';

import { RouteError } from '@/components/ui/route-error';

export default function AuditError({ error, retry }: { error: unknown; retry: () => void }) {
  return <RouteError what="the audit log" error={error} retry={retry} />;
}
