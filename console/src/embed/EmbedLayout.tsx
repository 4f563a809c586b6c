import type { ReactNode } from 'react';
import type { EmbedSessionInfo } from '../api/types.ts';
import { useProduct } from '../product.ts';
import { useSession } from '../session/session.ts';
import { NAV, NavList } from '../ui/NavList.tsx';
import { isTopLevel, returnHrefOf } from './return-link.ts';

/**
 * The embedded pages' frame: the product's name and colour, the workspace, who is signed in (the SaaS's own
 * user); no Latchkey account chrome (sign-in, workspace switcher, members, sign out).
 */
export function EmbedLayout({ info, children }: { info: EmbedSessionInfo; children: ReactNode }) {
  const product = useProduct();
  const { can } = useSession();
  const back = isTopLevel() ? returnHrefOf(info.return_url) : null;
  const who = info.user.name || info.user.email || info.user.external_id;
  return (
    <div className="shell embed-shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <span className="brand">{product.name}</span>
        <span className="workspace-name">{info.workspace.name}</span>
        <span className="spacer" />
        <span className="user" title={info.user.email && info.user.email !== who ? info.user.email : undefined}>
          {who}
        </span>
        {back && (
          <a className="button secondary small" href={back}>
            Back to {product.name}
          </a>
        )}
      </header>
      <nav className="sidenav" aria-label="Key management">
        <NavList items={can('audit:read') ? [NAV.keys, NAV.audit] : [NAV.keys]} />
      </nav>
      <main id="main" className="content" tabIndex={-1}>
        {children}
      </main>
    </div>
  );
}
