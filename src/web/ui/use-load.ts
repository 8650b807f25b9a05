import { useCallback, useLayoutEffect, useState } from 'preact/hooks';
import { type Api, isAbort } from './api.ts';
import { useSession } from './session.tsx';

export interface Loaded<T> {
  data: T | undefined;
  error: Error | undefined;
  loading: boolean;
  /** Load again (after a write). */
  reload(): void;
}

/**
 * Runs `load` with the session's API when `deps` change (the previous request aborted), keeping the newest answer.
 * `load` gets a client whose requests are aborted with it, and the signal itself.
 */
export function useLoad<T>(load: (api: Api, signal: AbortSignal) => Promise<T>, deps: unknown[]): Loaded<T> {
  const { api } = useSession();
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({ loading: true });
  const [round, setRound] = useState(0);
  // A layout effect: the request starts as soon as the page rendered, not a frame later.
  useLayoutEffect(() => {
    const controller = new AbortController();
    setState((previous) => ({ ...previous, loading: true }));
    load(api.abortable(controller.signal), controller.signal).then(
      (data) => !controller.signal.aborted && setState({ data, loading: false }),
      (error: unknown) => {
        if (controller.signal.aborted || isAbort(error)) return;
        setState({ error: error instanceof Error ? error : new Error(String(error)), loading: false });
      },
    );
    return () => controller.abort();
  }, [api, round, ...deps]);
  const reload = useCallback(() => setRound((n) => n + 1), []);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}
