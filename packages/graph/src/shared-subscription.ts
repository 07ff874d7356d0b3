import {
  createSourceEventStream,
  execute,
  getOperationAST,
  Kind,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLSchema,
} from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import type { Plugin } from 'graphql-yoga';
import { FeedSubscription } from '@wicket/core';

/**
 * Shared execution for the live audit stream.
 *
 * The feed hands the same entry object to every subscriber of a group (same filter, same visibility),
 * so the result of executing one operation on that entry is the same for all of them. This plugin
 * replaces the per-subscriber mapping of `subscribe` for `auditEntryAdded` operations: the selection
 * is executed once per (event object, operation shape) and the result object is shared, so the
 * WebSocket layer can serialise it once (see ws.ts). Entry fields read nothing from the context, and
 * the visibility that shapes an entry is part of the group, so sharing cannot leak across viewers.
 *
 * Everything else (parse, validate, auth, limits, error masking, the subscribe resolver itself) still
 * runs per operation through the Yoga plugins.
 */
const SHARED_ROOT_FIELDS = new Set(['auditEntryAdded']);

const resultsByEvent = new WeakMap<object, Map<string, ExecutionResult | Promise<ExecutionResult>>>();
const sharedResults = new WeakSet<object>();
const documentIds = new WeakMap<DocumentNode, number>();
let nextDocumentId = 1;

export const sharedExecutionStats = { executions: 0, compiled: 0, reused: 0, serializations: 0 };

/** True for a result object that other subscribers receive as the very same object. */
export function isSharedResult(result: unknown): result is ExecutionResult {
  return typeof result === 'object' && result !== null && sharedResults.has(result);
}

const serialized = new WeakMap<object, string>();

/** A shared result's JSON (as GraphQL over HTTP and graphql-ws send it), computed once. */
export function serializeShared(result: ExecutionResult): string {
  let json = serialized.get(result);
  if (json === undefined) {
    const { errors, ...rest } = result;
    json = JSON.stringify(errors ? { ...rest, errors: errors.map((e) => e.toJSON()) } : rest);
    serialized.set(result, json);
    sharedExecutionStats.serializations++;
  }
  return json;
}

const encoded = new WeakMap<object, Buffer>();

/** A shared result's JSON as UTF-8 bytes, encoded once: the lean path copies them into every socket's frame. */
function encodeShared(result: ExecutionResult): Buffer {
  let bytes = encoded.get(result);
  if (bytes === undefined) encoded.set(result, (bytes = Buffer.from(serializeShared(result))));
  return bytes;
}

/**
 * The lean path (ws.ts): a graphql-ws operation on a feed subscription whose results are shared can
 * take its frames straight from the cached JSON, without next() and the per-message machinery.
 */
export interface LeanSource {
  subscription: FeedSubscription;
  /**
   * The event's payload as graphql-ws sends it (the shared result's JSON, UTF-8 encoded once per event
   * and operation shape), or undefined when the ordinary path must take it: the execution is still
   * pending, or the result carries errors (which the Yoga plugins mask per operation).
   */
  payloadOf(event: unknown): Buffer | undefined;
}

const leanSources = new WeakMap<object, LeanSource>();

/** The lean source that subscribing with this context created, if any (taken once). */
export function takeLeanSource(contextValue: unknown): LeanSource | undefined {
  if (typeof contextValue !== 'object' || contextValue === null) return undefined;
  const lean = leanSources.get(contextValue);
  leanSources.delete(contextValue);
  return lean;
}

/** The operation's shape: document, operation, and variables other than the resume cursor. */
function shapeKey(args: ExecutionArgs): string | null {
  const op = getOperationAST(args.document, args.operationName);
  if (!op || op.operation !== 'subscription' || op.selectionSet.selections.length !== 1) return null;
  const field = op.selectionSet.selections[0];
  if (field.kind !== Kind.FIELD || !SHARED_ROOT_FIELDS.has(field.name.value)) return null;
  let docId = documentIds.get(args.document);
  if (!docId) documentIds.set(args.document, (docId = nextDocumentId++));
  const afterArg = field.arguments?.find((a) => a.name.value === 'after');
  const cursorVariable = afterArg?.value.kind === Kind.VARIABLE ? afterArg.value.name.value : undefined;
  const variables = { ...(args.variableValues ?? {}) } as Record<string, unknown>;
  if (cursorVariable) delete variables[cursorVariable];
  return `${docId}|${args.operationName ?? ''}|${JSON.stringify(variables)}`;
}

const compiledBySchema = new WeakMap<GraphQLSchema, WeakMap<DocumentNode, Map<string, CompiledQuery | null>>>();

/**
 * The operation compiled by graphql-jit (as Yoga's other operations are, see yoga.ts), once per schema,
 * document and operation; null when it cannot be compiled, and graphql-js executes it instead. Its
 * `query(event)` is what graphql-js's `execute` with the event as root value does (the subscription's
 * mapping of a source event), without building an execution context, coercing the variables and
 * collecting the fields again for every event.
 */
function compiledFor(args: ExecutionArgs): CompiledQuery | null {
  let byDocument = compiledBySchema.get(args.schema);
  if (!byDocument) compiledBySchema.set(args.schema, (byDocument = new WeakMap()));
  let byOperation = byDocument.get(args.document);
  if (!byOperation) byDocument.set(args.document, (byOperation = new Map()));
  const name = args.operationName ?? '';
  let compiled = byOperation.get(name);
  if (compiled === undefined) {
    const result = compileQuery(args.schema, args.document, args.operationName ?? undefined);
    compiled = isCompiledQuery(result) ? result : null;
    byOperation.set(name, compiled);
  }
  return compiled;
}

function executeOn(args: ExecutionArgs, event: unknown): ExecutionResult | Promise<ExecutionResult> {
  const compiled = compiledFor(args);
  if (!compiled) return execute({ ...args, rootValue: event });
  sharedExecutionStats.compiled++;
  return compiled.query(event, args.contextValue, (args.variableValues ?? {}) as Record<string, unknown>) as ExecutionResult | Promise<ExecutionResult>;
}

function executeShared(args: ExecutionArgs, key: string, event: unknown): ExecutionResult | Promise<ExecutionResult> {
  if (typeof event !== 'object' || event === null) return executeOn(args, event);
  let byShape = resultsByEvent.get(event);
  if (!byShape) resultsByEvent.set(event, (byShape = new Map()));
  const known = byShape.get(key);
  if (known) {
    sharedExecutionStats.reused++;
    return known;
  }
  sharedExecutionStats.executions++;
  const mark = (r: ExecutionResult) => {
    sharedResults.add(r);
    // Yoga's SSE writer uses a result's own `stringify` when it has one: serialised once there too.
    Object.defineProperty(r, 'stringify', { value: (v: unknown) => (v === r ? serializeShared(r) : JSON.stringify(v)), enumerable: false });
    byShape.set(key, r);
    return r;
  };
  const result = executeOn(args, event);
  if (result instanceof Promise) {
    const pending = result.then(mark);
    byShape.set(key, pending);
    return pending;
  }
  return mark(result);
}

async function subscribeShared(args: ExecutionArgs, key: string): Promise<AsyncGenerator<ExecutionResult> | ExecutionResult> {
  const stream = await createSourceEventStream(args);
  if (!(Symbol.asyncIterator in (stream as object))) return stream as ExecutionResult;
  const source = (stream as AsyncIterable<unknown>)[Symbol.asyncIterator]();
  const context = args.contextValue;
  if (source instanceof FeedSubscription && typeof context === 'object' && context !== null) {
    leanSources.set(context, {
      subscription: source,
      payloadOf(event) {
        // Every subscriber of the group asks for the same event: after the first, two lookups.
        const result = executeShared(args, key, event);
        return result instanceof Promise || result.errors ? undefined : encodeShared(result);
      },
    });
  }
  const mapped: AsyncGenerator<ExecutionResult> = {
    [Symbol.asyncIterator]() {
      return this;
    },
    // Without async/await: a delivery to each socket of a group passes here, and the result is usually
    // already there (another subscriber executed it), so no extra microtask hops.
    next() {
      return source.next().then((r): IteratorResult<ExecutionResult> | Promise<IteratorResult<ExecutionResult>> => {
        if (r.done) return { value: undefined, done: true };
        const value = executeShared(args, key, r.value);
        return value instanceof Promise ? value.then((v) => ({ value: v, done: false })) : { value, done: false };
      });
    },
    async return() {
      await source.return?.();
      return { value: undefined, done: true };
    },
    async throw(error: unknown) {
      await source.return?.();
      throw error;
    },
  };
  return mapped;
}

/** Must come after any plugin that sets its own subscribe function (graphql-jit): the last one wins. */
export function useSharedSubscriptionExecution(): Plugin {
  return {
    onSubscribe({ args, setSubscribeFn }) {
      const key = shapeKey(args as ExecutionArgs);
      if (key) setSubscribeFn(((a: ExecutionArgs) => subscribeShared(a, key)) as any);
    },
  };
}
