import { initGraphQLTada } from 'gql.tada';
import type { introspection } from './graphql-env';

/**
 * The typed `graphql` tag for every operation in the console. Types come from ../../schema.graphql
 * (via `npm run generate:gql`), never from server code. Masking is off: fragments here share field
 * lists between a query and a subscription, they do not hide data from components.
 */
export const graphql = initGraphQLTada<{
  introspection: introspection;
  scalars: { DateTime: string; JSON: unknown };
  disableMasking: true;
}>();

export type { FragmentOf, ResultOf, VariablesOf } from 'gql.tada';
export { readFragment } from 'gql.tada';
