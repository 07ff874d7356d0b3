import type { Metadata } from 'next';
import { SignInForm } from '@/components/auth/sign-in-form';
import { SignInWithLink } from '@/components/auth/sign-in-with-link';

export const metadata: Metadata = { title: 'Sign in' };

type SearchParams = Promise<Record<string, string | string[] | undefined>>;
const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

export default async function SignInPage({ searchParams }: { searchParams: SearchParams }) {
  const params = await searchParams;
  const link = first(params.link);
  const next = first(params.next) ?? null;
  return link ? <SignInWithLink token={link} next={next} /> : <SignInForm next={next} />;
}
