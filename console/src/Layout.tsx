import { useId, type ReactNode } from 'react';
import { useProduct } from './product.ts';
import { useConsoleSession } from './session/session.ts';
import { NAV, NavList } from './ui/NavList.tsx';
import { navigate } from './ui/router.ts';

const ITEMS = [NAV.keys, NAV.audit, NAV.members];

export function Layout({ children }: { children: ReactNode }) {
  const { me, workspace, switchWorkspace, signOut } = useConsoleSession();
  const product = useProduct();
  const switcherId = useId();
  return (
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
        <NavList items={ITEMS} />
      </nav>
      <main id="main" className="content" tabIndex={-1}>
        {children}
      </main>
    </div>
  );
}
