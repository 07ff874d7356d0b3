import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { builder } from './builder.ts';
import './types/scalars.ts';
import './types/errors.ts';
import './types/enums.ts';
import './types/viewer.ts';
import './types/agent.ts';
import './types/member.ts';
import './types/connector.ts';
import './types/audit-entry.ts';
import './types/audit-subscription.ts';
import './types/admin-activity.ts';
import './types/policy.ts';
import './types/simulate.ts';

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});

let schema: GraphQLSchema | undefined;
export function buildSchema(): GraphQLSchema {
  return (schema ??= builder.toSchema());
}

export function printSchemaText(): string {
  return `${printSchema(lexicographicSortSchema(buildSchema()))}\n`;
}
