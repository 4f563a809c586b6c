import { createContext, useContext } from 'react';
import type { Me, WorkspaceOfUser } from '../api/types.ts';

export interface Session {
  me: Me;
  workspace: WorkspaceOfUser;
  switchWorkspace: (id: string) => void;
  signOut: () => Promise<void>;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside a signed-in page');
  return session;
}
