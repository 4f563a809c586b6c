import { AuditPage } from './audit/AuditPage.tsx';
import { KeyPage } from './keys/KeyPage.tsx';
import { KeysPage } from './keys/KeysPage.tsx';
import { KeyUsagePage } from './keys/KeyUsagePage.tsx';
import { MembersPage } from './members/MembersPage.tsx';
import { Link } from './ui/Link.tsx';
import { usePath } from './ui/router.ts';

/** The signed-in pages, by path. */
export function Pages() {
  const path = usePath();
  if (path === '/' || path === '/keys') return <KeysPage />;
  const key = /^\/keys\/([^/]+)(\/usage)?$/.exec(path);
  if (key?.[1]) {
    const id = decodeURIComponent(key[1]);
    return key[2] ? <KeyUsagePage keyId={id} /> : <KeyPage keyId={id} />;
  }
  if (path === '/audit') return <AuditPage />;
  if (path === '/members') return <MembersPage />;
  return (
    <section>
      <h1>Page not found</h1>
      <p>
        There is no page at this address. <Link to="/keys">Go to API keys</Link>.
      </p>
    </section>
  );
}
