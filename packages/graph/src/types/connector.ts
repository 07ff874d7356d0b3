import type { ConnectorView } from '@wicket/core';
import { builder } from '../builder.ts';
import { ToolTier } from './enums.ts';

const ConnectorTool = builder.objectRef<ConnectorView['tools'][number]>('ConnectorTool').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    description: t.exposeString('description'),
    tier: t.field({ type: ToolTier, resolve: (x) => x.tier }),
    sensitiveKeys: t.exposeStringList('sensitiveKeys'),
  }),
});

const Connector = builder.objectRef<ConnectorView>('Connector').implement({
  description: 'A tool server behind the proxy. Its upstream URL and credentials are never returned.',
  fields: (t) => ({
    service: t.exposeString('service'),
    name: t.exposeString('name'),
    cedarNamespace: t.exposeString('cedarNamespace'),
    tools: t.field({ type: [ConnectorTool], resolve: (c) => c.tools }),
  }),
});

builder.queryFields((t) => ({
  connectors: t.field({ type: [Connector], resolve: async (_r, _a, ctx) => ctx.core.connectors.list(await ctx.access()) }),
}));
