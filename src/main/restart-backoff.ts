export interface BackoffOptions {
  /** Delay before the first restart. */
  initialMs: number;
  /** The delay doubles per consecutive crash up to this. */
  maxMs: number;
  /** A run that lasted this long counts as healthy: the next crash starts again from `initialMs`. */
  stableMs: number;
}

export const defaultBackoff: BackoffOptions = { initialMs: 500, maxMs: 30_000, stableMs: 60_000 };

/**
 * Exponential restart delays for one supervised part. A part that crashes right after starting (a bad config, a
 * port taken by someone else) is retried ever more slowly instead of spinning; one that ran for a while and then
 * crashed comes back quickly.
 */
export class RestartBackoff {
  #options: BackoffOptions;
  #crashes = 0;

  constructor(options: BackoffOptions = defaultBackoff) {
    this.#options = options;
  }

  /** The delay before restarting a part whose last run lasted `uptimeMs`. */
  delayAfter(uptimeMs: number): number {
    if (uptimeMs >= this.#options.stableMs) this.#crashes = 0;
    const delay = Math.min(this.#options.initialMs * 2 ** this.#crashes, this.#options.maxMs);
    this.#crashes++;
    return delay;
  }
}
