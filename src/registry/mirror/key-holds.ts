/**
 * Keys held for a while after an event, in memory, bounded: a tag whose upstream re-check failed (served stale
 * without asking again until the hold ends) or a manifest whose use was just recorded (not recorded again until
 * it ends). At most `capacity` keys: the oldest hold is forgotten first, which only costs that key one more ask.
 */
export class KeyHolds {
  readonly #until = new Map<string, number>();
  readonly #holdMs: number;
  readonly #capacity: number;

  constructor(options: { holdMs: number; capacity: number }) {
    this.#holdMs = options.holdMs;
    this.#capacity = options.capacity;
  }

  /** Holds `key` until `holdMs` after `nowMs` (re-inserted: the map's order is the order of the holds). */
  hold(key: string, nowMs: number): void {
    this.#until.delete(key);
    this.#until.set(key, nowMs + this.#holdMs);
    if (this.#until.size > this.#capacity) this.#until.delete(this.#until.keys().next().value as string);
  }

  held(key: string, nowMs: number): boolean {
    const until = this.#until.get(key);
    if (until === undefined) return false;
    if (nowMs < until) return true;
    this.#until.delete(key);
    return false;
  }
}
