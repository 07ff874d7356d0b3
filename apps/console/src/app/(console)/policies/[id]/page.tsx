import type { Metadata } from 'next';
import { PolicyEditor } from '@/components/policies/policy-editor';

export const metadata: Metadata = { title: 'Policy' };

export default async function PolicyPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return (
    <section className="page page-wide">
      <PolicyEditor policyId={id} />
    </section>
  );
}
