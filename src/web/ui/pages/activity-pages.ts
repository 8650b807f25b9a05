import type { RefObject } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { type Api, isAbort } from '../api.ts';
import { useSession } from '../session.tsx';

export interface Page<T> {
  items: T[];
  next: string | null;
}

export interface Pages<T> {
  items: T[];
  /** Whether "More" has something to load. */
  more: boolean;
  loading: boolean;
  error: Error | undefined;
  /** Appends the page after the last one loaded. */
  loadMore(): void;
  /** Loads the first page again and puts it in front of the older rows already shown (polling). */
  refresh(): Promise<void>;
}

/**
 * A newest-first list read a page at a time (`last` = the previous page's `next`): the first page when `deps`
 * change, more on demand. Answers to an older `deps` are dropped.
 */
export function usePages<T>(load: (api: Api, last: string | null) => Promise<Page<T>>, key: (item: T) => string, deps: unknown[]): Pages<T> {
  const { api } = useSession();
  const [state, setState] = useState<{ items: T[]; next: string | null; loading: boolean; error?: Error }>({ items: [], next: null, loading: true });
  const round = useRef(0);
  const latest = useRef({ load, key, state });
  latest.current = { load, key, state };
  const fetchPage = useCallback(
    async (last: string | null, merge: (page: Page<T>) => void) => {
      const mine = round.current;
      setState((previous) => ({ ...previous, loading: true }));
      try {
        const page = await latest.current.load(api, last);
        if (mine === round.current) merge(page);
      } catch (error) {
        if (mine !== round.current || isAbort(error)) return;
        setState((previous) => ({ ...previous, loading: false, error: error instanceof Error ? error : new Error(String(error)) }));
      }
    },
    [api],
  );
  useEffect(() => {
    round.current++;
    setState({ items: [], next: null, loading: true });
    void fetchPage(null, (page) => setState({ items: page.items, next: page.next, loading: false }));
  }, [fetchPage, ...deps]);
  const loadMore = useCallback(() => {
    const { next, loading } = latest.current.state;
    // The button stays enabled (a disabled one would drop the keyboard's focus): a click while a page loads does nothing.
    if (next === null || loading) return;
    void fetchPage(next, (page) => setState((previous) => ({ items: [...previous.items, ...page.items], next: page.next, loading: false })));
  }, [fetchPage]);
  const refresh = useCallback(
    () =>
      fetchPage(null, (page) =>
        setState((previous) => {
          const fresh = new Set(page.items.map(latest.current.key));
          const older = previous.items.filter((item) => !fresh.has(latest.current.key(item)));
          // Only the rows already shown beyond the first page keep their place; the first page is replaced.
          const kept = previous.items.length > page.items.length ? older : [];
          return { items: [...page.items, ...kept], next: kept.length ? previous.next : page.next, loading: false };
        }),
      ),
    [fetchPage],
  );
  return { items: state.items, more: state.next !== null, loading: state.loading, error: state.error, loadMore, refresh };
}

/**
 * After "More", the keyboard's focus goes to the first row it added (the button may be gone: that was the last
 * page). `ref` goes on the element holding the table; rows need `tabIndex={-1}`.
 */
export function useFocusOnMore(count: number): { ref: RefObject<HTMLDivElement>; before(): void } {
  const ref = useRef<HTMLDivElement>(null);
  const from = useRef<number | null>(null);
  useEffect(() => {
    if (from.current === null || count <= from.current) return;
    ref.current?.querySelectorAll<HTMLElement>('tbody tr')[from.current]?.focus();
    from.current = null;
  }, [count]);
  return { ref, before: () => (from.current = count) };
}
