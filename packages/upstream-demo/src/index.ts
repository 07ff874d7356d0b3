export {
  connectorOf,
  demoCatalogs,
  findDemoCatalog,
  resolveResource,
  type CatalogTool,
  type ConnectorCatalog,
  type JsonSchema,
  type ToolInputSchema,
  type ToolTier,
} from './catalog.ts';
export {
  FAIL_ARGUMENT,
  SLOW_MS_ARGUMENT,
  startUpstreamServer,
  toCallToolResult,
  type FailureMode,
  type ToolBehaviour,
  type UpstreamCall,
  type UpstreamRequest,
  type UpstreamServer,
  type UpstreamServerOptions,
} from './server.ts';
export { startDemoUpstreams, type DemoUpstreams, type DemoUpstreamsOptions } from './demo-upstreams.ts';
export { fakeResult, type FakeResultContext } from './fake-results.ts';
