import { createContext, useContext } from 'react';
import type { Capability, Me, WorkspaceOfUser } from '../api/types.ts';

/** What every key and audit page needs: the workspace it shows, and which of its controls to offer. */
interface BaseSession {
  workspace: { id: string; name: string };
  /**
   * Whether to show the controls of a capability. The signed-in console answers true (the server decides
   * by role, and a Member's refusal has its own page); an embedded session answers from its capabilities.
   * Either way the API refuses what is not allowed: this only keeps refused controls off the page.
   */
  can: (capability: Capability) => boolean;
}

/** A Latchkey user signed in to the console: workspaces, roles, members, sign-out. */
export interface ConsoleSession extends BaseSession {
  kind: 'console';
  me: Me;
  workspace: WorkspaceOfUser;
  switchWorkspace: (id: string) => void;
  signOut: () => Promise<void>;
}

/** A SaaS's customer in embedded key management: one workspace, the capabilities the link gave. */
export interface EmbedSession extends BaseSession {
  kind: 'embed';
}

export type Session = ConsoleSession | EmbedSession;

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside a signed-in page');
  return session;
}

/** The signed-in console's session, for its own pages (members, the workspace switcher). */
export function useConsoleSession(): ConsoleSession {
  const session = useSession();
  if (session.kind !== 'console') throw new Error('useConsoleSession outside the signed-in console');
  return session;
}
