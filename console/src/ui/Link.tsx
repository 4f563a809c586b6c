import type { ReactNode } from 'react';
import { hrefOf, onLinkClick } from './router.ts';

/** An internal link by app path (`/keys`): the router adds the base path (the embedded console's `/embed`). */
export function Link({ to, children, className, current }: { to: string; children: ReactNode; className?: string; current?: boolean }) {
  return (
    <a href={hrefOf(to)} onClick={(event) => onLinkClick(event, to)} className={className} aria-current={current ? 'page' : undefined}>
      {children}
    </a>
  );
}
