import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { Fault } from '../base/fault.ts';
import type { Logger } from '../base/log.ts';
import type { PgPool } from './pg-pool.ts';

/** Gives a lock back; calling it twice is harmless. */
export type ReleaseLock = () => Promise<void>;

/**
 * Named locks shared by every process on one PostgreSQL database: session-level advisory locks, all held on one
 * connection of this process. They die with that connection, so a replica killed with -9 frees every upload and
 * collection it held as soon as PostgreSQL sees the socket close (at once for a local kill; after TCP keepalive
 * for a lost host). A lease table would need renewals and make the other replica wait out the lease.
 *
 * When the connection drops while the process lives, a new one is opened (retried with backoff, bounded, each
 * failure logged) and each held lock taken again. A lock another process took in between, or every held lock when
 * the retries run out, is dropped from what this process holds and logged as an error: `size` and `tryLock` then
 * tell the truth, and the holder learns it at its next use of the lock (its release is a no-op). The holder is not
 * interrupted: what a lock guards fails safe (an upload's commit verifies the digest of what is on disk, and two
 * collections at once only repeat work).
 */
export class PgAdvisoryLocks {
  readonly #pool: Pick<PgPool, 'connect'>;
  readonly #logger: Logger | undefined;
  /** Locks taken, by key (with their names for logs). */
  readonly #held = new Map<string, string>();
  /** Keys being taken now: not yet retaken after a reconnect. */
  readonly #claimed = new Set<string>();
  readonly #reconnect: ReconnectPolicy;
  #client: Promise<pg.PoolClient> | undefined;
  #closed = false;

  constructor(pool: Pick<PgPool, 'connect'>, options: { logger?: Logger; reconnect?: ReconnectPolicy } = {}) {
    this.#pool = pool;
    this.#logger = options.logger;
    this.#reconnect = options.reconnect ?? defaultReconnect;
  }

  /** The lock named `name`, or undefined when a process (this one included) holds it. */
  async tryLock(name: string): Promise<ReleaseLock | undefined> {
    if (this.#closed) throw new Fault('unavailable', 'advisory locks are closed');
    const key = lockKey(name);
    if (this.#held.has(key) || this.#claimed.has(key)) return undefined;
    // Claimed before the first await, so a racing call in this process sees it taken.
    this.#claimed.add(key);
    try {
      if (!(await this.#try(key))) return undefined;
    } finally {
      this.#claimed.delete(key);
    }
    this.#held.set(key, name);
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      await this.#unlock(key);
    };
  }

  /** Whether this process holds the lock `name` now: false after a release, or once it was lost on a reconnect. */
  holds(name: string): boolean {
    return this.#held.has(lockKey(name));
  }

  /** Locks this process holds now (for tests and logs). */
  get size(): number {
    return this.#held.size;
  }

  /** Ends the lock connection: every lock it held is free for the other replicas. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#held.clear();
    const client = await this.#client?.catch(() => undefined);
    this.#client = undefined;
    client?.release(true);
  }

  async #try(key: string): Promise<boolean> {
    const client = await this.#connection();
    const result = await client.query(timed('SELECT pg_try_advisory_lock($1::bigint) AS locked', [key]));
    return result.rows[0]?.locked === true;
  }

  async #unlock(key: string): Promise<void> {
    if (!this.#held.delete(key) || this.#closed) return;
    try {
      const client = await this.#connection();
      await client.query(timed('SELECT pg_advisory_unlock($1::bigint)', [key]));
    } catch (err) {
      // A dropped connection has released it already; a reconnect re-takes only what is still held.
      this.#logger?.warn({ err }, 'advisory unlock failed');
    }
  }

  #connection(): Promise<pg.PoolClient> {
    this.#client ??= this.#open();
    return this.#client;
  }

  async #open(): Promise<pg.PoolClient> {
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (err) {
      this.#client = undefined;
      throw new Fault('unavailable', `advisory locks: ${(err as Error).message}`, { cause: err });
    }
    let gone = false;
    // 'error' (maybe twice: the socket's and the pending query's) and 'end' all come for one loss; the listener
    // stays for the client's life, since an 'error' nobody listens to kills the process.
    const lost = (err?: Error) => {
      if (gone) return;
      gone = true;
      this.#connectionLost(client, err);
    };
    client.on('error', lost);
    client.once('end', lost);
    try {
      await this.#retake(client);
    } catch (err) {
      // A connection that fails at once is not kept (the next use opens another); if its loss was seen already,
      // #connectionLost has released it.
      if (!gone) {
        gone = true;
        client.release(true);
        this.#client = undefined;
      }
      throw new Fault('unavailable', `advisory locks: ${(err as Error).message}`, { cause: err });
    }
    return client;
  }

  #connectionLost(client: pg.PoolClient, err?: Error): void {
    // close() has released it already.
    if (this.#closed) return;
    client.release(true);
    this.#client = undefined;
    if (this.#held.size === 0) return;
    this.#logger?.warn({ err, held: this.#held.size }, 'advisory lock connection lost; taking the locks again');
    void this.#reopen();
  }

  /** Reopens the lock connection (which retakes the held locks) while locks are held, with a bounded backoff. */
  async #reopen(): Promise<void> {
    const { attempts, firstDelayMs, maxDelayMs } = this.#reconnect;
    for (let attempt = 1; !this.#closed && this.#held.size > 0; attempt++) {
      try {
        await this.#connection();
        return;
      } catch (err) {
        if (attempt >= attempts) {
          const lost = [...this.#held.values()];
          this.#held.clear();
          this.#logger?.error({ err, locks: lost, attempts }, 'advisory locks: reconnect failed; held locks are lost');
          return;
        }
        const delay = Math.min(maxDelayMs, firstDelayMs * 2 ** (attempt - 1));
        this.#logger?.warn({ err, attempt, retryInMs: delay }, 'advisory locks: reconnect failed; retrying');
        // Unreferenced: a pending retry does not keep a closing process alive.
        await sleep(delay, undefined, { ref: false });
      }
    }
  }

  /** After a reconnect: the locks this process still believes it holds, taken again where nobody took them meanwhile. */
  async #retake(client: pg.PoolClient): Promise<void> {
    for (const [key, name] of [...this.#held]) {
      const result = await client.query(timed('SELECT pg_try_advisory_lock($1::bigint) AS locked', [key]));
      if (result.rows[0]?.locked === true) continue;
      this.#held.delete(key);
      this.#logger?.error({ lock: name }, 'advisory lock taken by another process while reconnecting');
    }
  }
}

export interface ReconnectPolicy {
  attempts: number;
  firstDelayMs: number;
  maxDelayMs: number;
}

// About half a minute of retries (0.25, 0.5, 1, 2, 4, then 5 s apart): a restart or failover of the database.
const defaultReconnect: ReconnectPolicy = { attempts: 10, firstDelayMs: 250, maxDelayMs: 5000 };
// A lock statement never waits (pg_try_*): one that does not answer means a stalled server.
const lockQueryTimeoutMs = 30_000;

/** A lock statement with a timeout (read by node-postgres, not declared by @types/pg). */
function timed(text: string, values: unknown[]): pg.QueryConfig & { query_timeout: number } {
  return { text, values, query_timeout: lockQueryTimeoutMs };
}

/**
 * The bigint key of a lock name: the first 8 bytes of its SHA-256, signed. 64 bits make a collision between two
 * live names (which would only make one of them wait) negligible.
 */
export function lockKey(name: string): string {
  return createHash('sha256').update(`wharf:${name}`).digest().readBigInt64BE(0).toString();
}
