import { AuditSkeleton } from '@/components/audit/audit-skeleton';

export default function AgentAuditLoading() {
  return <AuditSkeleton />;
}
