import type { Metadata } from 'next';
import { PolicyCreate } from '@/components/policies/policy-create';

export const metadata: Metadata = { title: 'New policy' };

export default async function NewPolicyPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return <PolicyCreate agentId={id} />;
}
