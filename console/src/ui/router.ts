import { useEffect, useState, type MouseEvent } from 'react';

/** A tiny history-API router: the console has a handful of pages and needs no library for them. */
export function navigate(path: string): void {
  if (path === location.pathname + location.search) return;
  history.pushState(null, '', path);
  dispatchEvent(new PopStateEvent('popstate'));
}

export function usePath(): string {
  const [path, setPath] = useState(() => location.pathname);
  useEffect(() => {
    const update = () => {
      setPath(location.pathname);
      window.scrollTo(0, 0);
    };
    addEventListener('popstate', update);
    return () => removeEventListener('popstate', update);
  }, []);
  return path;
}

/** Plain left clicks on internal links go through the router; others (new tab, download) keep the browser's way. */
export function onLinkClick(event: MouseEvent<HTMLAnchorElement>): void {
  if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const href = event.currentTarget.getAttribute('href');
  if (!href?.startsWith('/') || event.currentTarget.hasAttribute('download')) return;
  event.preventDefault();
  navigate(href);
}
