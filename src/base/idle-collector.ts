import { Session } from 'node:inspector/promises';

/**
 * V8's memory reducer for a server, which Node never triggers: once a burst of requests is over, one collection
 * of all available garbage gives back what the burst promoted into the old generation and the pages V8 kept
 * pooled after it. Without it an idle registry kept ~40 MiB after a manifest load (docs/benchmarks.md, registry
 * RSS): the old space is collected only when allocation reaches its limit, an idle process allocates nothing,
 * and a plain full collection (`gc()`) leaves the freed pages in V8's pool.
 *
 * `touch` marks activity; a tick that finds the window before it busy and its own quiet collects once.
 */
export interface IdleCollector {
  touch(): void;
  stop(): void;
}

export function collectWhenIdle(options: { intervalMs?: number; collect?: () => Promise<void> } = {}): IdleCollector {
  const collect = options.collect ?? collectAllGarbage;
  let busy = false;
  let armed = false;
  const timer = setInterval(() => {
    if (busy) {
      busy = false;
      armed = true;
    } else if (armed) {
      armed = false;
      collect().catch(() => {});
    }
  }, options.intervalMs ?? 5000);
  timer.unref();
  return {
    touch: () => {
      busy = true;
    },
    stop: () => clearInterval(timer),
  };
}

/** The in-process inspector's HeapProfiler.collectGarbage: V8's collection with memory reduction (no port opened). */
async function collectAllGarbage(): Promise<void> {
  const session = new Session();
  session.connect();
  try {
    await session.post('HeapProfiler.collectGarbage');
  } finally {
    session.disconnect();
  }
}
