import { Session } from 'node:inspector/promises';

/**
 * V8's memory reducer for a server, which Node never triggers: once a burst of requests is over, one collection
 * of all available garbage gives back what the burst promoted into the old generation and the pages V8 kept
 * pooled after it. Without it an idle registry kept ~40 MiB after a manifest load (docs/benchmarks.md, registry
 * RSS): the old space is collected only when allocation reaches its limit, an idle process allocates nothing,
 * and a plain full collection (`gc()`) leaves the freed pages in V8's pool.
 *
 * `touch` counts a response. A tick whose window saw more than `quietCount` responses arms the collector; the first
 * later window with at most that many collects once. Quiet is "few", not "none": a long upload that starts the
 * moment a burst ends (one PATCH streaming for seconds, a handful of small requests around it) is exactly when
 * the burst's garbage should go, and waiting for silence let it sit there through the whole push.
 */
export interface IdleCollector {
  touch(): void;
  stop(): void;
}

export interface IdleCollectorOptions {
  intervalMs?: number;
  /** Responses per window that still count as quiet. */
  quietCount?: number;
  /** Collections are at least this far apart, so traffic hovering around the threshold cannot keep collecting. */
  minGapMs?: number;
  collect?: () => Promise<void>;
}

export function collectWhenIdle(options: IdleCollectorOptions = {}): IdleCollector {
  const collect = options.collect ?? collectAllGarbage;
  const quietCount = options.quietCount ?? 5;
  const minGapMs = options.minGapMs ?? 10_000;
  let responses = 0;
  let armed = false;
  let lastCollection = -Infinity;
  const timer = setInterval(() => {
    const busy = responses > quietCount;
    responses = 0;
    if (busy) {
      armed = true;
    } else if (armed && Date.now() - lastCollection >= minGapMs) {
      armed = false;
      lastCollection = Date.now();
      collect().catch(() => {});
    }
  }, options.intervalMs ?? 1000);
  timer.unref();
  return {
    touch: () => {
      responses++;
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
