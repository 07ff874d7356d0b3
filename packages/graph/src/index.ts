export { buildSchema, printSchemaText } from './schema.ts';
export { createGraphServer, type GraphServerContext } from './yoga.ts';
export { createGraphContext, type GraphContext } from './context.ts';
export { builder } from './builder.ts';
export { attachGraphqlWs, TOO_MANY_CONNECTIONS, type GraphqlWsHandle, type GraphqlWsOptions, type GraphqlWsStats } from './ws.ts';
