import type { ReactNode } from 'react';
import { onLinkClick } from './router.ts';

export function Link({ to, children, className, current }: { to: string; children: ReactNode; className?: string; current?: boolean }) {
  return (
    <a href={to} onClick={onLinkClick} className={className} aria-current={current ? 'page' : undefined}>
      {children}
    </a>
  );
}
