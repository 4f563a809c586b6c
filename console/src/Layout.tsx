import { useId, type ReactNode } from 'react';
import { OpenFindingsContext, useOpenFindingsCount } from './anomalies/open-findings.ts';
import { useProduct } from './product.ts';
import { useConsoleSession } from './session/session.ts';
import { NAV, NavList } from './ui/NavList.tsx';
import { navigate } from './ui/router.ts';

export function Layout({ children }: { children: ReactNode }) {
  const { me, workspace, switchWorkspace, signOut } = useConsoleSession();
  const product = useProduct();
  const switcherId = useId();
  // Members may not read findings (nor manage endpoints): the API refuses them, so their badge is not asked for.
  const openFindings = useOpenFindingsCount(workspace.id, workspace.role !== 'member');
  const items = [NAV.keys, NAV.audit, { ...NAV.anomalies, count: openFindings.count, countLabel: 'open' }, NAV.events, NAV.members];
  return (
    <OpenFindingsContext.Provider value={openFindings}>
      <div className="shell">
        <a className="skip-link" href="#main">
          Skip to content
        </a>
        <header className="topbar">
          <span className="brand">{product.name}</span>
          {me.workspaces.length > 1 ? (
            <div className="switcher">
              <label htmlFor={switcherId}>Workspace</label>
              <select
                id={switcherId}
                value={workspace.id}
                onChange={(event) => {
                  switchWorkspace(event.target.value);
                  navigate('/keys');
                }}
              >
                {me.workspaces.map((w) => (
                  <option key={w.id} value={w.id}>
                    {w.name}
                  </option>
                ))}
              </select>
            </div>
          ) : (
            <span className="workspace-name">{workspace.name}</span>
          )}
          <span className="spacer" />
          <span className="user" title={`Role: ${workspace.role}`}>
            {me.user.email} · <span className="role">{workspace.role}</span>
          </span>
          <button type="button" className="secondary small" onClick={() => void signOut()}>
            Sign out
          </button>
        </header>
        <nav className="sidenav" aria-label="Settings">
          <p className="nav-title">Settings</p>
          <NavList items={items} />
        </nav>
        <main id="main" className="content" tabIndex={-1}>
          {children}
        </main>
      </div>
    </OpenFindingsContext.Provider>
  );
}
