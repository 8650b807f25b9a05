import { useEffect, useRef } from 'preact/hooks';

/**
 * Calls `tick` every `ms` while `active`, never two at once (the next waits for the previous to settle), and
 * stops when `active` turns false or the component unmounts.
 */
export function usePolling(tick: () => Promise<unknown> | void, ms: number, active: boolean): void {
  const latest = useRef(tick);
  latest.current = tick;
  useEffect(() => {
    if (!active) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const loop = async () => {
      try {
        await latest.current();
      } catch {
        // The page shows the error of its own load; polling just tries again.
      }
      if (!stopped) timer = setTimeout(loop, ms);
    };
    timer = setTimeout(loop, ms);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [active, ms]);
}
