export * from './audit-writer.ts';
export * from './proxy.service.ts';
export * from './rate-limiter.ts';
