import type { LoginLimiter } from './login-limiter.ts';

/**
 * Counts failed logins per key (`account:NAME`, `ip:ADDR`) in a sliding window. In memory per Authorizer: a
 * restart forgets, which only ever errs towards letting a legitimate user back in. Memory is bounded: past
 * `maxKeys` the oldest keys are forgotten first (an attacker cycling through names or addresses costs itself,
 * not the server). Replicas on PostgreSQL count in the database instead (PgRateLimiter).
 */
export class RateLimiter implements LoginLimiter {
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #now: () => number;
  readonly #maxKeys: number;
  // Insertion order is recency order: a key is re-inserted on each failure.
  readonly #failures = new Map<string, number[]>();

  constructor(options: { limit: number; windowSeconds: number; now?: () => number; maxKeys?: number }) {
    this.#limit = options.limit;
    this.#windowMs = options.windowSeconds * 1000;
    this.#now = options.now ?? Date.now;
    this.#maxKeys = options.maxKeys ?? 50_000;
  }

  /** Seconds until `key` may try again, 0 when it may now. */
  retryAfter(key: string): number {
    const recent = this.#recent(key);
    if (recent.length < this.#limit) return 0;
    return Math.max(1, Math.ceil((recent[recent.length - this.#limit] + this.#windowMs - this.#now()) / 1000));
  }

  fail(key: string): void {
    const recent = this.#recent(key);
    recent.push(this.#now());
    // Only the newest `limit` failures matter for retryAfter.
    if (recent.length > this.#limit) recent.splice(0, recent.length - this.#limit);
    this.#failures.delete(key);
    this.#failures.set(key, recent);
    while (this.#failures.size > this.#maxKeys) this.#failures.delete(this.#failures.keys().next().value as string);
  }

  succeed(key: string): void {
    this.#failures.delete(key);
  }

  get size(): number {
    return this.#failures.size;
  }

  #recent(key: string): number[] {
    const since = this.#now() - this.#windowMs;
    return (this.#failures.get(key) ?? []).filter((t) => t > since);
  }
}
