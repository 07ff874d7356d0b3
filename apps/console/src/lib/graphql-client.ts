import { Client, cacheExchange, fetchExchange, mapExchange } from 'urql';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import { isUnauthenticated, redirectToSignIn } from './session';

export type LiveStatus = 'idle' | 'connecting' | 'connected' | 'reconnecting';

export interface ConsoleClients {
  urql: Client;
  /** graphql-ws client for subscriptions; null during server rendering. */
  ws: WsClient | null;
  apiUrl: string;
  liveStatus: { get(): LiveStatus; subscribe(listener: () => void): () => void };
}

/** graphql-ws close codes a server uses for a missing or expired session. */
const AUTH_CLOSE_CODES = new Set([4401, 4403]);

function closeCode(event: unknown): number | undefined {
  return typeof event === 'object' && event !== null && 'code' in event ? Number((event as { code: unknown }).code) : undefined;
}

/** Without configuration the API is assumed on port 4000 of the host that served the console. */
export function resolveApiUrl(configured: string): string {
  if (configured) return configured.replace(/\/+$/, '');
  if (typeof window === 'undefined') return 'http://localhost:4000';
  return `${window.location.protocol}//${window.location.hostname}:4000`;
}

export function createConsoleClients(configuredApiUrl: string): ConsoleClients {
  const apiUrl = resolveApiUrl(configuredApiUrl);
  const httpUrl = `${apiUrl}/graphql`;

  let status: LiveStatus = 'idle';
  const listeners = new Set<() => void>();
  const setStatus = (next: LiveStatus) => {
    if (next === status) return;
    status = next;
    for (const listener of listeners) listener();
  };

  let everConnected = false;
  const ws =
    typeof window === 'undefined'
      ? null
      : createWsClient({
          url: httpUrl.replace(/^http/, 'ws'),
          lazy: true,
          retryAttempts: Number.POSITIVE_INFINITY,
          shouldRetry: (event) => !AUTH_CLOSE_CODES.has(closeCode(event) ?? 0),
          retryWait: async (retries) => {
            await new Promise((resolve) => setTimeout(resolve, Math.min(1000 * 2 ** retries, 15_000) + Math.random() * 500));
          },
          on: {
            connecting: () => setStatus(everConnected ? 'reconnecting' : 'connecting'),
            connected: () => {
              everConnected = true;
              setStatus('connected');
            },
            closed: (event) => {
              const code = closeCode(event) ?? 0;
              if (AUTH_CLOSE_CODES.has(code)) redirectToSignIn();
              // 1000: the lazy client closed an idle socket on purpose; anything else is a drop.
              setStatus(code === 1000 || !everConnected ? 'idle' : 'reconnecting');
            },
          },
        });

  const urql = new Client({
    url: httpUrl,
    preferGetMethod: false,
    requestPolicy: 'cache-and-network',
    fetchOptions: { credentials: 'include' },
    exchanges: [
      mapExchange({
        onError(error) {
          if (isUnauthenticated(error)) redirectToSignIn();
        },
      }),
      cacheExchange,
      fetchExchange,
    ],
  });

  return {
    urql,
    ws,
    apiUrl,
    liveStatus: {
      get: () => status,
      subscribe(listener) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    },
  };
}
