import { createContext, useCallback, useContext, useEffect, useState } from 'react';
import { api } from '../api/client.ts';

/** How often the navigation's badge asks again, while the tab is visible: the detector runs once a minute. */
const REFRESH_MS = 60_000;

export interface OpenFindings {
  /** Open findings of the workspace; null until known, or when the session may not read them. */
  count: number | null;
  refresh: () => void;
}

export const OpenFindingsContext = createContext<OpenFindings>({ count: null, refresh: () => {} });

export function useOpenFindings(): OpenFindings {
  return useContext(OpenFindingsContext);
}

/**
 * The badge's count: one light request (`status=open&limit=1`, read for its open_count) at start, every
 * minute while the tab is visible, when it becomes visible again, and after a finding's status changes.
 * A Member may not read findings: nothing is asked, no badge shown.
 */
export function useOpenFindingsCount(workspaceId: string, allowed: boolean): OpenFindings {
  // Kept with the workspace it counts: after a switch, the other workspace's count is not shown meanwhile.
  const [known, setKnown] = useState<{ workspaceId: string; count: number } | null>(null);
  const [version, setVersion] = useState(0);
  const refresh = useCallback(() => setVersion((v) => v + 1), []);

  useEffect(() => {
    if (!allowed) return;
    let current = true;
    // A failed look keeps the last count: the badge is a hint, and the Anomalies page shows any error itself.
    api.findings(workspaceId, { status: 'open', limit: 1 }).then(
      (page) => current && setKnown({ workspaceId, count: page.open_count }),
      () => undefined,
    );
    return () => {
      current = false;
    };
  }, [workspaceId, allowed, version]);

  useEffect(() => {
    if (!allowed) return;
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') refresh();
    }, REFRESH_MS);
    const onVisible = () => document.visibilityState === 'visible' && refresh();
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      clearInterval(timer);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [allowed, refresh]);

  return { count: allowed && known?.workspaceId === workspaceId ? known.count : null, refresh };
}
