import { builder } from '../builder.ts';

export const Decision = builder.enumType('Decision', { values: ['ALLOW', 'DENY'] as const });
export const AgentStatus = builder.enumType('AgentStatus', { values: ['active', 'disabled'] as const });
export const TrustMode = builder.enumType('TrustMode', { values: ['trusted', 'untrusted'] as const });
export const MemberRole = builder.enumType('MemberRole', { values: ['owner', 'member'] as const });
export const MemberStatus = builder.enumType('MemberStatus', { values: ['pending', 'approved', 'rejected'] as const });
export const PolicyEffect = builder.enumType('PolicyEffect', { values: ['permit', 'forbid'] as const });
export const ToolTier = builder.enumType('ToolTier', { values: ['read', 'write', 'destructive'] as const });
export const StatsBucket = builder.enumType('StatsBucket', { values: ['minute', 'hour', 'day'] as const });
