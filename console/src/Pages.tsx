import type { ReactNode } from 'react';
import type { Capability } from './api/types.ts';
import { AnomaliesPage } from './anomalies/AnomaliesPage.tsx';
import { AuditPage } from './audit/AuditPage.tsx';
import { EndpointPage } from './events/EndpointPage.tsx';
import { EventsPage } from './events/EventsPage.tsx';
import { KeyAuditPage } from './keys/KeyAuditPage.tsx';
import { KeyPage } from './keys/KeyPage.tsx';
import { KeysPage } from './keys/KeysPage.tsx';
import { KeyUsagePage } from './keys/KeyUsagePage.tsx';
import { MembersPage } from './members/MembersPage.tsx';
import { CapabilityMissing } from './session/CapabilityMissing.tsx';
import { useSession } from './session/session.ts';
import { Link } from './ui/Link.tsx';
import { usePath } from './ui/router.ts';

/** The signed-in pages, by path (the same paths under /embed in embedded key management). */
export function Pages() {
  const path = usePath();
  const { kind, can } = useSession();
  // A page whose capability the session lacks says so instead of showing the API's refusal.
  const gated = (capability: Capability, what: string, page: ReactNode) => (can(capability) ? page : <CapabilityMissing what={what} />);
  if (path === '/' || path === '/keys') return <KeysPage />;
  const key = /^\/keys\/([^/]+)(?:\/(usage|audit))?$/.exec(path);
  if (key?.[1]) {
    const id = decodeURIComponent(key[1]);
    if (key[2] === 'usage') return gated('usage:read', 'a key’s usage', <KeyUsagePage keyId={id} />);
    if (key[2] === 'audit') return gated('audit:read', 'the audit log', <KeyAuditPage keyId={id} />);
    return <KeyPage keyId={id} />;
  }
  if (path === '/audit') return gated('audit:read', 'the audit log', <AuditPage />);
  if (path === '/members' && kind === 'console') return <MembersPage />;
  // Events and anomalies are the workspace's Owners' and Admins': no embedded session has them.
  if (path === '/events' && kind === 'console') return <EventsPage />;
  const endpoint = /^\/events\/([^/]+)$/.exec(path);
  if (endpoint?.[1] && kind === 'console') return <EndpointPage endpointId={decodeURIComponent(endpoint[1])} />;
  if (path === '/anomalies' && kind === 'console') return <AnomaliesPage />;
  return (
    <section>
      <h1>Page not found</h1>
      <p>
        There is no page at this address. <Link to="/keys">Go to API keys</Link>.
      </p>
    </section>
  );
}
