'use client';

import { RouteError } from '@/components/ui/route-error';

export default function SignInError({ error, retry }: { error: unknown; retry: () => void }) {
  return <RouteError what="the sign-in page" error={error} retry={retry} />;
}
