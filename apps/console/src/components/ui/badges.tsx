export function DecisionBadge({ decision, testId = 'decision' }: { decision: string; testId?: string }) {
  return (
    <span className={`badge ${decision === 'DENY' ? 'badge-deny' : 'badge-allow'}`} data-testid={testId} data-decision={decision}>
      {decision}
    </span>
  );
}

const STATUS_CLASS: Record<string, string> = {
  active: 'badge-allow',
  approved: 'badge-allow',
  disabled: 'badge-deny',
  rejected: 'badge-deny',
  pending: 'badge-warn',
};

export function StatusBadge({ status, testId = 'status' }: { status: string; testId?: string }) {
  return (
    <span className={`badge ${STATUS_CLASS[status] ?? ''}`} data-testid={testId} data-status={status}>
      {status}
    </span>
  );
}

export function EffectBadge({ effect }: { effect: string }) {
  return (
    <span className={`badge ${effect === 'forbid' ? 'badge-deny' : 'badge-allow'}`} data-testid="policy-effect">
      {effect}
    </span>
  );
}

export function TierBadge({ tier }: { tier: string }) {
  return <span className={`badge badge-tier-${tier}`}>{tier}</span>;
}
