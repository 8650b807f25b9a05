import type { ComponentChildren, JSX } from 'preact';
import { createContext } from 'preact';
import { useCallback, useContext, useEffect, useMemo, useState } from 'preact/hooks';
import type { Params } from './route-match.ts';

/** Where the app is: the History API's path and query. */
export interface Location {
  path: string;
  query: URLSearchParams;
}

export interface Router extends Location {
  /** pushState (or replaceState) to a same-origin path such as `/ui/r/app?tab=builds`, then render it. */
  navigate(to: string, options?: { replace?: boolean }): void;
}

/** What every page component gets: the route's params (decoded) and the query. */
export interface PageProps {
  params: Params;
  query: URLSearchParams;
}

const RouterContext = createContext<Router | null>(null);

function current(): Location {
  // `/` serves the app too: it shows the repositories at their canonical address.
  const path = window.location.pathname === '/' ? '/ui/' : window.location.pathname;
  return { path, query: new URLSearchParams(window.location.search) };
}

export function RouterProvider(props: { children: ComponentChildren }) {
  const [location, setLocation] = useState<Location>(current);
  useEffect(() => {
    if (window.location.pathname === '/') window.history.replaceState(null, '', `/ui/${window.location.search}`);
    const onPop = () => setLocation(current());
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);
  const navigate = useCallback((to: string, options: { replace?: boolean } = {}) => {
    if (options.replace) window.history.replaceState(null, '', to);
    else window.history.pushState(null, '', to);
    setLocation(current());
    if (!options.replace) window.scrollTo(0, 0);
  }, []);
  const value = useMemo(() => ({ ...location, navigate }), [location, navigate]);
  return <RouterContext.Provider value={value}>{props.children}</RouterContext.Provider>;
}

export function useRouter(): Router {
  const router = useContext(RouterContext);
  if (!router) throw new Error('useRouter outside RouterProvider');
  return router;
}

type AnchorProps = JSX.HTMLAttributes<HTMLAnchorElement> & { href: string };

/** An `<a>` that navigates in the app (plain clicks only: modified clicks open tabs as usual). */
export function Link(props: AnchorProps) {
  const { navigate } = useRouter();
  const { href, onClick, ...rest } = props;
  const click = (event: JSX.TargetedMouseEvent<HTMLAnchorElement>) => {
    if (onClick) (onClick as (e: JSX.TargetedMouseEvent<HTMLAnchorElement>) => void)(event);
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(href);
  };
  return <a href={href} onClick={click} {...rest} />;
}
