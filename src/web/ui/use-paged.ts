import { useEffect, useState } from 'preact/hooks';
import type { Paged } from '../api-types.ts';
import type { Api } from './api.ts';
import { useSession } from './session.tsx';
import { type Loaded, useLoad } from './use-load.ts';

export interface PagedRows<P, R> {
  /** The first page (reloaded when `deps` change or on `reload`). */
  first: Loaded<P>;
  /** Every row loaded so far, the first page's then each "More". */
  rows: R[];
  next: string | null;
  /** Appends the page after the last one loaded. */
  more(): void;
  moreLoading: boolean;
  moreError: Error | undefined;
}

export interface PagedSource<P, R> {
  /** One page: `last` is what to send (null for the first page). */
  load(api: Api, last: string | null): Promise<P>;
  rows(page: P): R[];
}

/**
 * A list paged by `last`/`next` (the API's pagination) shown as one growing list with a "More" button; a new
 * first page (when `deps` change, or on reload) drops the pages appended after it.
 */
export function usePaged<P extends Paged, R>(source: PagedSource<P, R>, deps: unknown[]): PagedRows<P, R> {
  const { load, rows: rowsOf } = source;
  const { api } = useSession();
  const first = useLoad((client) => load(client, null), deps);
  const [extra, setExtra] = useState<{ rows: R[]; next: string | null; loading: boolean; error?: Error } | null>(null);
  useEffect(() => setExtra(null), [first.data]);
  const next = extra ? extra.next : (first.data?.next ?? null);
  const more = async () => {
    if (!next || extra?.loading) return;
    const base = extra ?? { rows: [], next };
    setExtra({ ...base, loading: true });
    try {
      const page = await load(api, next);
      setExtra({ rows: [...base.rows, ...rowsOf(page)], next: page.next, loading: false });
    } catch (error) {
      setExtra({ ...base, loading: false, error: error as Error });
    }
  };
  const rows = first.data ? [...rowsOf(first.data), ...(extra?.rows ?? [])] : [];
  return { first, rows, next, more, moreLoading: extra?.loading ?? false, moreError: extra?.error };
}
