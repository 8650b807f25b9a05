import { useEffect, useRef } from 'preact/hooks';
import { NotFoundPage } from './pages/not-found-page.tsx';
import { firstMatch } from './route-match.ts';
import { Link, RouterProvider, useRouter } from './router.tsx';
import { navItems, routes } from './routes.tsx';
import type { SessionInfo } from '../api-types.ts';
import { SessionProvider, signInPath, useSession } from './session.tsx';

function Header() {
  const { info, signOut } = useSession();
  const { path, navigate } = useRouter();
  const user = info.user;
  const items = navItems.filter((item) => (!item.admin || user?.admin || info.authMode === 'none') && (!item.signedIn || user));
  const out = async () => {
    await signOut().catch(() => undefined);
    navigate('/ui/sign-in', { replace: true });
  };
  return (
    <header class="top">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <Link href="/ui/" class="brand">
        wharf
      </Link>
      <nav aria-label="Main">
        {items.map((item) => (
          <Link key={item.href} href={item.href} aria-current={path === item.href ? 'page' : undefined}>
            {item.label}
          </Link>
        ))}
      </nav>
      <div class="who">
        {user ? (
          <>
            <span class="user">{user.name}</span>
            <button type="button" class="small" onClick={out}>
              Sign out
            </button>
          </>
        ) : (
          info.authMode !== 'none' && !path.startsWith('/ui/sign-in') && <Link href={signInPath(path)}>Sign in</Link>
        )}
      </div>
    </header>
  );
}

function Page() {
  const { path, query, navigate } = useRouter();
  const { info } = useSession();
  const main = useRef<HTMLElement>(null);
  const first = useRef(true);
  const match = firstMatch(routes, path);
  const mustSignIn = !info.user && !info.anonymousBrowse && info.authMode !== 'none' && match?.route.anonymous !== false && !path.startsWith('/ui/sign-in');
  useEffect(() => {
    if (mustSignIn) navigate(signInPath(`${path}${query.size ? `?${query}` : ''}`), { replace: true });
  }, [mustSignIn]);
  useEffect(() => {
    document.title = `${match ? match.route.title(match.params) : 'Not found'} · wharf`;
    // After a navigation, focus goes to the new page's heading so screen readers and keyboards start there.
    if (first.current) first.current = false;
    else main.current?.querySelector<HTMLElement>('h1')?.focus();
  }, [path]);
  const Component = match?.route.page ?? NotFoundPage;
  return (
    <main id="main" ref={main}>
      {mustSignIn ? (
        <p class="note" role="status">
          Loading…
        </p>
      ) : (
        <Component key={path} params={match?.params ?? {}} query={query} />
      )}
    </main>
  );
}

export function App(props: { session: SessionInfo }) {
  return (
    <RouterProvider>
      <SessionProvider first={props.session}>
        <Header />
        <Page />
      </SessionProvider>
    </RouterProvider>
  );
}
