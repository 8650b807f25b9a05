import type { FastifyRequest } from 'fastify';
import type { Logger } from '../../base/log.ts';
import type { ActivityAction, ActivityRecord, ActivityStore } from '../../meta/activity-store.ts';
import type { ManifestDescriptor, RegistryEvents, RequestEvents } from '../../registry/notifications/request-events.ts';

export interface ActivityLogOptions {
  store: ActivityStore;
  logger: Logger;
  /** hub.activityKeep: rows kept by the prune. */
  keep: number;
  /** Longest a row waits before its batch is written. */
  flushMs?: number;
  /** A batch this large is written at once. */
  batchRows?: number;
  /** How often, at most, the table is pruned (after a write). */
  pruneEveryMs?: number;
  now?: () => number;
}

/** What the hub or a build records without a registry request (an autobuild's push, a delete through the API). */
export interface ActivityEntry {
  action: ActivityAction;
  repository: string;
  tag?: string;
  digest?: string;
  actor: string;
}

/** A row waiting for its batch: pulls of one (repository, reference, digest, actor) add to `count`. */
interface Pending {
  /** Milliseconds since the log's `#since`. */
  at: number;
  /**
   * The order rows came in (a coalesced pull: its last one), which they are written in. `at` follows it (the clock a
   * row reads never goes back) but ties within a millisecond.
   */
  seq: number;
  action: ActivityAction;
  repository: string;
  tag: string | undefined;
  digest: string | undefined;
  actor: string;
  count: number;
}

type PullsByReference = Map<string, Pending>;

const done: Promise<void> = Promise.resolve();
// Rows kept for a retry after a failed write, and rows waiting while a write is under way; beyond, rows are
// dropped (and logged): a slow database costs a bounded memory, never a queue of writes.
const maxHeldBatches = 10;
// Distinct actors whose RequestEvents are kept (a request's costs one map lookup, not an object).
const maxCachedActors = 1024;
// How often the clock of coalesced pulls moves, at most (ms).
const tickMs = 100;

/**
 * The hub's activity (docs/api.md): manifest pushes and pulls (GETs: a HEAD only checks) and deletes as rows of the
 * ActivityStore, blob events ignored. A pull costs lookups in a map of maps and, the first time in a window, one
 * object (nothing else is allocated: bench/activity-log.ts): pulls of the same manifest by the same actor are one
 * row with a count. Rows are written off the request's path, one transaction per `flushMs` or `batchRows`, the
 * table pruned to `keep` now and then; `close` writes what is pending.
 */
export class ActivityLog implements RegistryEvents {
  readonly #options: Required<Omit<ActivityLogOptions, 'store' | 'logger'>> & Pick<ActivityLogOptions, 'store' | 'logger'>;
  readonly #actors = new Map<string, RequestEvents>();
  /** The same for HEAD requests: a client checking a manifest has not pulled it (Docker Hub counts GETs). */
  readonly #checkers = new Map<string, RequestEvents>();
  /** actor -> repository -> reference -> pending pull. */
  #pulls = new Map<string, Map<string, PullsByReference>>();
  #rows: Pending[] = [];
  #pending = 0;
  #held: ActivityRecord[] = [];
  /** Runs while rows are pending: moves `#clock` on and writes the batch once it is `flushMs` old. */
  #ticker: NodeJS.Timeout | undefined;
  #soon: NodeJS.Immediate | undefined;
  /** The one write under way: a flush meanwhile waits for it (`#again`), and its rows wait with it. */
  #writing: Promise<void> | undefined;
  #again: Promise<void> | undefined;
  /** Rows dropped while a write was under way and `maxHeldBatches` of rows were waiting (logged by the next flush). */
  #dropped = 0;
  #prunedAt = Number.NEGATIVE_INFINITY;
  /**
   * Pending rows' times are milliseconds since `#since` (moved by each take), read from `#clock`: reading the
   * wall clock allocates a heap number, too much for a pull that only adds to a count, so `#clock` is set when a
   * row is made and by the ticker (`at` of coalesced pulls is the last one's to within a tick).
   */
  #since: number;
  #clock = 0;
  #seq = 0;
  /** `#clock` when the oldest pending row came. */
  #pendingFrom = 0;
  #closed = false;

  constructor(options: ActivityLogOptions) {
    this.#options = { flushMs: 1000, batchRows: 500, pruneEveryMs: 60_000, now: Date.now, ...options };
    this.#since = this.#options.now();
  }

  forRequest(request: FastifyRequest, actor?: string): RequestEvents {
    return request.method === 'HEAD' ? this.#eventsOf(this.#checkers, actor ?? 'anonymous', false) : this.forActor(actor ?? 'anonymous');
  }

  /** The events of one actor (an account, `anonymous`, `autobuild`), as a registry request's would be. */
  forActor(actor: string): RequestEvents {
    return this.#eventsOf(this.#actors, actor, true);
  }

  // No closure in here: V8 would allocate their context on every call, the cached path's too.
  #eventsOf(cache: Map<string, RequestEvents>, actor: string, pulls: boolean): RequestEvents {
    const cached = cache.get(actor);
    if (cached) return cached;
    if (cache.size >= maxCachedActors) cache.clear();
    const events = this.#newEvents(actor, pulls);
    cache.set(actor, events);
    return events;
  }

  #newEvents(actor: string, pulls: boolean): RequestEvents {
    return {
      manifest: (action, repository, manifest, reference) => (action === 'pull' && !pulls ? done : this.#manifest(action, repository, manifest, reference, actor)),
      blob: () => done,
      mounted: () => done,
      deleted: (repository, reference, what) => {
        if (what !== 'blob') this.record({ action: 'delete', repository, ...referenceFields(reference), actor });
        return done;
      },
    };
  }

  /** Queues one row (a push or delete; a pull here is not coalesced). */
  record(entry: ActivityEntry): void {
    if (this.#closed || this.#full()) return;
    this.#rows.push({ at: this.#tick(), seq: this.#seq++, tag: undefined, digest: undefined, ...entry, count: 1 });
    this.#added();
  }

  /** Writes what is pending now (after the write under way, if any); resolves once written (or given up on, logged). */
  flush(): Promise<void> {
    this.#cancelTimers();
    if (this.#writing) {
      this.#again ??= this.#writing.then(() => {
        this.#again = undefined;
        return this.flush();
      });
      return this.#again;
    }
    const batch = this.#take();
    this.#reportDropped();
    if (batch.length === 0 && this.#held.length === 0) return done;
    const writing = this.#write(batch).finally(() => {
      this.#writing = undefined;
    });
    this.#writing = writing;
    return writing;
  }

  /** Writes what is pending; nothing is recorded after. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
  }

  #manifest(action: 'push' | 'pull', repository: string, manifest: ManifestDescriptor, reference: string, actor: string): Promise<void> {
    if (this.#closed) return done;
    if (action === 'push') {
      this.record({ action, repository, digest: manifest.digest, tag: tagIn(reference), actor });
      return done;
    }
    let byRepository = this.#pulls.get(actor);
    if (!byRepository) this.#pulls.set(actor, (byRepository = new Map()));
    let byReference = byRepository.get(repository);
    if (!byReference) byRepository.set(repository, (byReference = new Map()));
    const pull = byReference.get(reference);
    if (pull && pull.digest === manifest.digest) {
      pull.count++;
      pull.at = this.#clock;
      pull.seq = this.#seq++;
      return done;
    }
    if (this.#full()) return done;
    // A tag that moved within the window: its earlier pulls become a row of their own.
    if (pull) this.#rows.push(pull);
    byReference.set(reference, { at: this.#tick(), seq: this.#seq++, action, repository, tag: tagIn(reference), digest: manifest.digest, actor, count: 1 });
    this.#added();
    return done;
  }

  /** Whether a new row is to be dropped: a write is under way and as many rows as a failed write keeps wait. */
  #full(): boolean {
    if (this.#writing === undefined || this.#pending < maxHeldBatches * this.#options.batchRows) return false;
    this.#dropped++;
    return true;
  }

  #reportDropped(): void {
    if (this.#dropped === 0) return;
    this.#options.logger.warn({ dropped: this.#dropped }, 'activity rows dropped: the store is slower than the registry');
    this.#dropped = 0;
  }

  /** Reads the wall clock into `#clock`. */
  #tick(): number {
    return (this.#clock = this.#options.now() - this.#since);
  }

  #added(): void {
    if (++this.#pending >= this.#options.batchRows) this.#soon ??= setImmediate(() => void this.flush());
    else this.#startTicker();
  }

  #startTicker(): void {
    if (this.#ticker) return;
    this.#pendingFrom = this.#clock;
    this.#ticker = setInterval(() => {
      if (this.#tick() - this.#pendingFrom >= this.#options.flushMs) void this.flush();
    }, Math.min(tickMs, this.#options.flushMs));
    this.#ticker.unref();
  }

  #cancelTimers(): void {
    clearInterval(this.#ticker);
    if (this.#soon) clearImmediate(this.#soon);
    this.#ticker = undefined;
    this.#soon = undefined;
  }

  /** Every pending row, oldest first, as records; the pending state starts over. */
  #take(): ActivityRecord[] {
    const rows = this.#rows;
    for (const byRepository of this.#pulls.values()) for (const byReference of byRepository.values()) rows.push(...byReference.values());
    const since = this.#since;
    this.#rows = [];
    this.#pulls = new Map();
    this.#pending = 0;
    this.#since = this.#options.now();
    this.#clock = 0;
    this.#seq = 0;
    rows.sort((a, b) => a.seq - b.seq);
    return rows.map(({ at, action, repository, tag, digest, actor, count }) => ({ at: new Date(since + at).toISOString(), action, repository, tag, digest, actor, count }));
  }

  async #write(batch: ActivityRecord[]): Promise<void> {
    const rows = this.#held.length > 0 ? [...this.#held, ...batch] : batch;
    this.#held = [];
    try {
      await this.#options.store.append(rows);
    } catch (err) {
      this.#hold(rows, err);
      return;
    }
    await this.#pruneNowAndThen();
  }

  /** Keeps a failed batch for the next write, up to a bound; the next write is scheduled as a pending row's would be. */
  #hold(rows: ActivityRecord[], err: unknown): void {
    const room = maxHeldBatches * this.#options.batchRows;
    const dropped = Math.max(0, rows.length - room);
    this.#held = rows.slice(dropped);
    this.#options.logger.warn({ err, held: this.#held.length, dropped }, 'activity rows not written; retrying with the next batch');
    if (!this.#closed) this.#startTicker();
  }

  async #pruneNowAndThen(): Promise<void> {
    const now = this.#options.now();
    if (now - this.#prunedAt < this.#options.pruneEveryMs) return;
    this.#prunedAt = now;
    try {
      await this.#options.store.prune(this.#options.keep);
    } catch (err) {
      this.#options.logger.warn({ err }, 'activity rows not pruned');
    }
  }
}

// A digest always holds a ':' (algorithm:hex); a tag never does.
const tagIn = (reference: string) => (reference.includes(':') ? undefined : reference);

function referenceFields(reference: string | undefined): { tag?: string; digest?: string } {
  if (reference === undefined) return {};
  return reference.includes(':') ? { digest: reference } : { tag: reference };
}
