import type { AuditEntry as AuditEntryModel } from '@wicket/core';
import { builder } from '../builder.ts';
import { AuditEntryEdge, AuditFilter } from './audit-entry.ts';

builder.subscriptionFields((t) => ({
  auditEntryAdded: t.field({
    type: AuditEntryEdge,
    description:
      'Every entry the viewer may see that matches the filter, in commit order, as an edge like auditEntries\' ' +
      '(the same cursors). With `after` (a cursor from auditEntries or from a previous event) it first replays ' +
      'every matching entry committed since that cursor, then streams live: nothing skipped, nothing repeated. ' +
      'Without it, the stream starts at the latest entry.',
    args: {
      filter: t.arg({ type: AuditFilter }),
      after: t.arg.string({ description: 'Resume after this cursor' }),
    },
    subscribe: async (_root, args, ctx) => ctx.core.feed.subscribe(await ctx.access(), args.filter, args.after, { signal: ctx.signal }),
    resolve: (entry: AuditEntryModel) => entry,
  }),
}));
