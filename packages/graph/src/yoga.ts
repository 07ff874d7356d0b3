import { GraphQLError, Kind, type DefinitionNode, type DocumentNode, type OperationDefinitionNode, type SelectionNode } from 'graphql';
import { useGraphQlJit } from '@envelop/graphql-jit';
import { createYoga, maskError as yogaMaskError, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { isAppError, type Core, type Viewer } from '@wicket/core';
import { createGraphContext, type GraphContext } from './context.ts';
import { buildSchema } from './schema.ts';
import { useSharedSubscriptionExecution } from './shared-subscription.ts';
import { accountConnections } from './ws.ts';
import { publicMutations } from './types/viewer.ts';

export interface GraphServerContext {
  viewer: Viewer | null;
  setCookie?: (cookie: string) => void;
  /** The HTTP request's abort signal (SSE subscriptions end when the client goes away). */
  signal?: AbortSignal;
}

/**
 * Expected failures thrown by a query field (not a mutation union) keep their code and field in
 * `extensions`; HTTP status follows (401 unauthenticated, 400 bad input). Everything else is logged
 * once and masked.
 */
function toClientError(error: unknown, message: string, isDev?: boolean): Error {
  const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
  if (isAppError(original)) {
    return new GraphQLError(original.message, {
      nodes: error instanceof GraphQLError ? error.nodes : undefined,
      path: error instanceof GraphQLError ? error.path : undefined,
      extensions: {
        code: original.code,
        ...(original.param ? { field: original.param } : {}),
        http: { status: original.status === 401 ? 401 : 200 },
      },
    });
  }
  return yogaMaskError(error, message, isDev);
}

function createLruCache(max: number) {
  const map = new Map<string, any>();
  return {
    get(key: string) {
      const v = map.get(key);
      if (v !== undefined) {
        map.delete(key);
        map.set(key, v);
      }
      return v;
    },
    set(key: string, value: any) {
      map.delete(key);
      map.set(key, value);
      if (map.size > max) map.delete(map.keys().next().value as string);
    },
  };
}

/** Without a viewer only the sign-in mutations may run: everything else is a 401. */
function useAuthGate(): Plugin<GraphContext> {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const ctx = args.contextValue as GraphContext;
      if (ctx.viewer) return;
      const document = args.document as DocumentNode;
      const op = document.definitions.find(
        (d: DefinitionNode): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION && (!args.operationName || d.name?.value === args.operationName),
      );
      const onlyPublic =
        op?.operation === 'mutation' &&
        op.selectionSet.selections.every((s: SelectionNode) => s.kind === Kind.FIELD && (publicMutations.has(s.name.value) || s.name.value === '__typename'));
      if (!onlyPublic) {
        setResultAndStopExecution({
          errors: [
            new GraphQLError('authentication required: send Authorization: Bearer <API token> or sign in', {
              extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } },
            }),
          ],
        });
      }
    },
    // Subscriptions (SSE and graphql-ws) never run without a viewer; none of them is public.
    onSubscribe({ args, setResultAndStopExecution }) {
      if ((args.contextValue as GraphContext).viewer) return;
      setResultAndStopExecution({
        errors: [
          new GraphQLError('authentication required: send Authorization: Bearer <API token> or sign in', {
            extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } },
          }),
        ],
      });
    },
  };
}

/**
 * SSE subscription streams count toward the per-account connection limit, with graphql-ws sockets
 * (ws.ts). A stream over HTTP takes a slot when it subscribes and gives it back once, however it ends:
 * completed, failed, cancelled by the client (the iterator's return), or the request aborted. Over
 * graphql-ws the socket holds the slot, so its operations take none.
 */
function useSseConnectionLimit(core: Core): Plugin<GraphContext> {
  const connections = accountConnections(core);
  return {
    onSubscribe({ args, setResultAndStopExecution }) {
      const ctx = args.contextValue as GraphContext & { socket?: unknown; request?: unknown };
      if (!ctx.viewer || ctx.socket || !ctx.request) return;
      const accountId = ctx.viewer.accountId;
      if (!connections.acquire(accountId)) {
        setResultAndStopExecution({
          errors: [
            new GraphQLError(`too many connections for this account (at most ${connections.limit}: WebSocket connections and SSE streams together)`, {
              extensions: { code: 'TOO_MANY_CONNECTIONS', http: { status: 429 } },
            }),
          ],
        });
        return;
      }
      let held = true;
      const release = () => {
        if (!held) return;
        held = false;
        ctx.signal?.removeEventListener('abort', release);
        connections.release(accountId);
      };
      ctx.signal?.addEventListener('abort', release, { once: true });
      if (ctx.signal?.aborted) release();
      return {
        onSubscribeResult({ result }) {
          // Not a stream (the subscribe resolver failed): nothing stays open.
          if (!result || typeof result !== 'object' || !(Symbol.asyncIterator in result)) {
            release();
            return;
          }
          return { onEnd: release };
        },
        onSubscribeError: release,
      };
    },
  };
}

export function createGraphServer(options: { core: Core; secureCookies?: boolean; plugins?: Plugin[] }): YogaServerInstance<GraphServerContext, GraphContext> {
  const { core } = options;
  return createYoga<GraphServerContext, GraphContext>({
    schema: buildSchema(),
    graphqlEndpoint: '/graphql',
    landingPage: false,
    graphiql: { title: 'Wicket GraphQL' },
    logging: {
      debug: () => {},
      info: () => {},
      warn: (...a) => core.logger.warn({ args: a.map(String) }, 'graphql warning'),
      error: (...a) => core.logger.error({ err: a[0] }, 'graphql error'),
    },
    maskedErrors: {
      maskError: (error, message, isDev) => {
        const masked = toClientError(error, message, isDev);
        if (masked !== error && !(masked instanceof GraphQLError && masked.extensions?.code && masked.extensions.code !== 'INTERNAL_SERVER_ERROR')) {
          core.logger.error({ err: error }, 'unexpected error in a GraphQL operation');
        }
        return masked;
      },
    },
    context: ({ viewer, setCookie, signal }) => createGraphContext(core, viewer ?? null, { setCookie, secureCookies: options.secureCookies, signal }),
    // Compiled execution (graphql-jit): the same results, a fraction of the per-field overhead on
    // large pages. Documents are compiled once and cached.
    plugins: [useAuthGate(), useSseConnectionLimit(core), useGraphQlJit({}, { cache: createLruCache(500) }), useSharedSubscriptionExecution(), ...(options.plugins ?? [])],
  });
}
