import { Link } from './Link.tsx';
import { usePath } from './router.ts';

export interface NavItem {
  to: string;
  label: string;
  /** Whether the current page belongs to this item (a key's pages are under API keys). */
  match: (path: string) => boolean;
  /** A count beside the label (open anomaly findings); none when 0 or unknown. */
  count?: number | null;
  /** What the count counts, for screen readers ("open"): "Anomalies 2 open". */
  countLabel?: string;
}

/** The settings pages, as both the signed-in console and the embedded one list them. */
export const NAV = {
  keys: { to: '/keys', label: 'API keys', match: (path) => path === '/' || path.startsWith('/keys') },
  audit: { to: '/audit', label: 'Audit log', match: (path) => path.startsWith('/audit') },
  members: { to: '/members', label: 'Members', match: (path) => path.startsWith('/members') },
  events: { to: '/events', label: 'Events', match: (path) => path.startsWith('/events') },
  anomalies: { to: '/anomalies', label: 'Anomalies', match: (path) => path.startsWith('/anomalies') },
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
            {item.count ? (
              <span className="nav-count">
                {item.count}
                {item.countLabel && <span className="sr-only"> {item.countLabel}</span>}
              </span>
            ) : null}
          </Link>
        </li>
      ))}
    </ul>
  );
}
