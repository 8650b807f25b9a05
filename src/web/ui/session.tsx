import type { ComponentChildren } from 'preact';
import { createContext } from 'preact';
import { useCallback, useContext, useMemo, useRef, useState } from 'preact/hooks';
import type { SessionInfo } from '../api-types.ts';
import { type Api, createApi } from './api.ts';
import { useRouter } from './router.tsx';

export interface Session {
  /** Who is signed in, and what anonymous callers may do (GET /api/v1/session). */
  info: SessionInfo;
  /** The API client of this session: CSRF header on writes, 401 -> the sign-in page. */
  api: Api;
  signIn(username: string, password: string): Promise<void>;
  signOut(): Promise<void>;
  /** Asks the server again (after a 401, or when another tab signed out). */
  reload(): Promise<void>;
}

const SessionContext = createContext<Session | null>(null);

/** The sign-in page's address with a way back to `path`. */
export function signInPath(path: string): string {
  return path.startsWith('/ui/sign-in') ? '/ui/sign-in' : `/ui/sign-in?next=${encodeURIComponent(path)}`;
}

/**
 * GET /api/v1/session, which main.tsx awaits before the first render: the page then renders once, knowing who
 * calls, and its own requests start before the browser's first paint instead of after it. A failure is shown as
 * signed out (the sign-in page says what went wrong when it is tried).
 */
/**
 * The session the server wrote into the page (`<meta name="wharf-session">`, src/hub/static-ui.ts): the first
 * render needs no round trip. Absent (an old server, a page from cache) or unreadable: undefined.
 */
export function embeddedSession(): SessionInfo | undefined {
  const content = document.querySelector('meta[name="wharf-session"]')?.getAttribute('content');
  if (!content) return undefined;
  try {
    return JSON.parse(content) as SessionInfo;
  } catch {
    return undefined;
  }
}

export async function fetchSession(): Promise<SessionInfo> {
  try {
    return await createApi({ csrfToken: () => null, onUnauthorized: () => {} }).get<SessionInfo>('/session');
  } catch {
    return { user: null, csrfToken: null, authMode: 'htpasswd', anonymousBrowse: false };
  }
}

export function SessionProvider(props: { first: SessionInfo; children: ComponentChildren }) {
  const router = useRouter();
  const [info, setInfo] = useState<SessionInfo>(props.first);
  // Refs, not state: the client reads the newest token and location without being rebuilt on every navigation.
  const csrf = useRef<string | null>(props.first.csrfToken);
  const here = useRef('/ui/');
  here.current = `${router.path}${router.query.size ? `?${router.query}` : ''}`;
  const navigate = router.navigate;
  const adopt = useCallback((next: SessionInfo) => {
    csrf.current = next.csrfToken;
    setInfo(next);
  }, []);
  // Session calls themselves never redirect: a wrong password is the form's error, not a navigation.
  const quiet = useMemo(() => createApi({ csrfToken: () => csrf.current, onUnauthorized: () => {} }), []);
  const api = useMemo(
    () =>
      createApi({
        csrfToken: () => csrf.current,
        onUnauthorized: () => {
          // The session ended (expired, signed out elsewhere, password changed): ask again, then sign in anew.
          quiet.get<SessionInfo>('/session').then(adopt, () => undefined);
          if (!here.current.startsWith('/ui/sign-in')) navigate(signInPath(here.current), { replace: true });
        },
      }),
    [navigate, quiet, adopt],
  );
  const reload = useCallback(async () => adopt(await quiet.get<SessionInfo>('/session')), [quiet, adopt]);
  const signIn = useCallback(async (username: string, password: string) => adopt(await quiet.send<SessionInfo>('POST', '/session', { username, password })), [quiet, adopt]);
  const signOut = useCallback(async () => {
    await quiet.send<void>('DELETE', '/session');
    await reload();
  }, [quiet, reload]);
  const value = useMemo(() => ({ info, api, signIn, signOut, reload }), [info, api, signIn, signOut, reload]);
  return <SessionContext.Provider value={value}>{props.children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside SessionProvider');
  return session;
}
