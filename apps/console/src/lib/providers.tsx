'use client';

import { createContext, useContext, useState, useSyncExternalStore, type ReactNode } from 'react';
import { Provider as UrqlProvider } from 'urql';
import { createConsoleClients, type ConsoleClients, type LiveStatus } from './graphql-client';

const ClientsContext = createContext<ConsoleClients | null>(null);

/**
 * Data is fetched in the browser only: the session cookie belongs to the API's origin, and the API is
 * the real gate. Server rendering draws shells and skeletons; see (console)/layout.tsx.
 */
export function Providers({ apiUrl, children }: { apiUrl: string; children: ReactNode }) {
  const [clients] = useState(() => createConsoleClients(apiUrl));
  return (
    <ClientsContext.Provider value={clients}>
      <UrqlProvider value={clients.urql}>{children}</UrqlProvider>
    </ClientsContext.Provider>
  );
}

export function useConsoleClients(): ConsoleClients {
  const clients = useContext(ClientsContext);
  if (!clients) throw new Error('useConsoleClients must be used inside <Providers>.');
  return clients;
}

export function useApiUrl(): string {
  return useConsoleClients().apiUrl;
}

export function useLiveStatus(): LiveStatus {
  const { liveStatus } = useConsoleClients();
  return useSyncExternalStore(liveStatus.subscribe, liveStatus.get, () => 'idle');
}
