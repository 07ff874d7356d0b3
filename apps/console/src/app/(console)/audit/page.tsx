import type { Metadata } from 'next';
import { AuditView } from '@/components/audit/audit-view';

export const metadata: Metadata = { title: 'Audit' };

export default function AuditPage() {
  return (
    <section className="page page-wide" data-testid="audit-page">
      <div className="page-header">
        <h1>Audit</h1>
        <p className="muted">Every tool call, newest first, live. Click a member or a matched policy to scope the list.</p>
      </div>
      <AuditView />
    </section>
  );
}
