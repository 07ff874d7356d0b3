export { buildSchema, printSchemaText } from './schema.ts';
export { createGraphServer, type GraphServerContext } from './yoga.ts';
export { createGraphContext, type GraphContext } from './context.ts';
export { builder } from './builder.ts';
