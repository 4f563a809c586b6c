import { Link } from './Link.tsx';
import { usePath } from './router.ts';

export interface NavItem {
  to: string;
  label: string;
  /** Whether the current page belongs to this item (a key's pages are under API keys). */
  match: (path: string) => boolean;
}

/** The settings pages, as both the signed-in console and the embedded one list them. */
export const NAV = {
  keys: { to: '/keys', label: 'API keys', match: (path) => path === '/' || path.startsWith('/keys') },
  audit: { to: '/audit', label: 'Audit log', match: (path) => path.startsWith('/audit') },
  members: { to: '/members', label: 'Members', match: (path) => path.startsWith('/members') },
} satisfies Record<string, NavItem>;

/** A navigation list with the current page marked. */
export function NavList({ items }: { items: readonly NavItem[] }) {
  const path = usePath();
  return (
    <ul>
      {items.map((item) => (
        <li key={item.to}>
          <Link to={item.to} current={item.match(path)}>
            {item.label}
          </Link>
        </li>
      ))}
    </ul>
  );
}
