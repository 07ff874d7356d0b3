'use client';

import { createContext, useContext } from 'react';

export interface ViewerAccount {
  id: string;
  email: string;
  name: string;
}

export const ViewerContext = createContext<ViewerAccount | null>(null);

/** The signed-in account; pages render only after the shell has confirmed the session. */
export function useViewer(): ViewerAccount {
  const viewer = useContext(ViewerContext);
  if (!viewer) throw new Error('useViewer must be used inside the console shell.');
  return viewer;
}
