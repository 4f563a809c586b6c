import { useEffect, useState, type MouseEvent } from 'react';

/**
 * A tiny history-API router: the console has a handful of pages and needs no library for them.
 * Pages and links speak in app paths (`/keys`); the base ('' or '/embed') is added and removed here, so the
 * same pages serve the signed-in console and the embedded one.
 */
let base = '';

/** Set once at start, before the first render: '' for the console, '/embed' for embedded key management. */
export function setBasePath(path: string): void {
  base = path;
}

/** The address of an app path, as links and the history hold it. */
export function hrefOf(path: string): string {
  return base + path;
}

/** The app path of a location's pathname: the base taken off (`/embed` itself is `/`). */
function appPathOf(pathname: string): string {
  if (pathname === base) return '/';
  return base && pathname.startsWith(`${base}/`) ? pathname.slice(base.length) : pathname;
}

export function navigate(path: string): void {
  const href = hrefOf(path);
  if (href === location.pathname + location.search) return;
  history.pushState(null, '', href);
  dispatchEvent(new PopStateEvent('popstate'));
}

export function usePath(): string {
  const [path, setPath] = useState(() => appPathOf(location.pathname));
  useEffect(() => {
    const update = () => {
      setPath(appPathOf(location.pathname));
      window.scrollTo(0, 0);
    };
    addEventListener('popstate', update);
    return () => removeEventListener('popstate', update);
  }, []);
  return path;
}

/** Plain left clicks on internal links go through the router; others (new tab, download) keep the browser's way. */
export function onLinkClick(event: MouseEvent<HTMLAnchorElement>, to: string): void {
  if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  if (!to.startsWith('/') || event.currentTarget.hasAttribute('download')) return;
  event.preventDefault();
  navigate(to);
}
