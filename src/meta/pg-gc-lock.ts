import type { GcLock } from './gc-lock.ts';
import type { PgAdvisoryLocks } from './pg-advisory-locks.ts';

/** The GC lock as an advisory lock: a collector that crashes frees it with its connection. */
export class PgGcLock implements GcLock {
  readonly #locks: Pick<PgAdvisoryLocks, 'tryLock'>;

  constructor(locks: Pick<PgAdvisoryLocks, 'tryLock'>) {
    this.#locks = locks;
  }

  tryLock(): Promise<(() => Promise<void>) | undefined> {
    return this.#locks.tryLock('gc');
  }
}
