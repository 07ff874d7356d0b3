export * from './account.repository.ts';
export * from './admin-activity.repository.ts';
export * from './agent.repository.ts';
export * from './audit-entry.repository.ts';
export * from './connector.repository.ts';
export * from './member.repository.ts';
export * from './policy.repository.ts';
