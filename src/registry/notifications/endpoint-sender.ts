import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../base/log.ts';
import { type EndpointSettings, redactUserinfo } from './endpoint-settings.ts';
import { envelopeOf, eventsMediaType } from './notification-event.ts';
import type { Claim, NotificationQueue, QueuedEvent } from './notification-queue.ts';

/** POSTs one envelope; resolves with the status, rejects when no answer came (refused, timed out, aborted). */
export type PostEnvelope = (settings: EndpointSettings, body: string, signal: AbortSignal) => Promise<number>;

export interface EndpointSenderOptions {
  settings: EndpointSettings;
  queue: NotificationQueue;
  logger: Logger;
  post?: PostEnvelope;
  /** On a shared queue: how often an idle sender looks for other replicas' events, or for a claim another let go. */
  pollMs?: number;
}

/** Delivered events are removed together, once this many are acknowledged or `ackDelayMs` after the first. */
const ackBatch = 100;
const ackDelayMs = 100;

/**
 * Delivers one endpoint's queue in order, one event per POST, removing an event only once the endpoint answered
 * 2xx or 3xx (at-least-once: a crash between the answer and the removal sends it again). A failure is retried
 * at once until `threshold` failures in a row, then after `backoff` each time (distribution's retrying sink
 * behind its breaker); an event is never given up. Removals are batched: a lost one only resends events, which
 * carry their ids. A database error (e.g. SQLITE_BUSY while `wharf gc` holds meta.db) is logged and retried
 * after `backoff`; the loop never ends but by `stop`. Only the sender holding the endpoint's claim delivers (on a
 * shared queue, one replica's); the others wait for it, polling.
 */
export class EndpointSender {
  readonly #settings: EndpointSettings;
  readonly #queue: NotificationQueue;
  readonly #logger: Logger;
  readonly #post: PostEnvelope;
  readonly #stop = new AbortController();
  #wake: (() => void) | undefined;
  #failures = 0;
  #queued: number;
  /** The last delivered event's seq; those up to it are removed by the next `#acknowledge`. */
  #acked = 0;
  #unacknowledged = 0;
  #ackTimer: NodeJS.Timeout | undefined;
  #claim: Claim | undefined;
  readonly #pollMs: number;
  readonly #running: Promise<void>;

  constructor(options: EndpointSenderOptions) {
    this.#settings = options.settings;
    this.#queue = options.queue;
    this.#logger = options.logger.child({ endpoint: options.settings.name });
    this.#post = options.post ?? httpPost;
    this.#pollMs = options.pollMs ?? 1000;
    this.#queued = 0;
    this.#running = this.#run().catch((err: unknown) => this.#logger.error({ reason: describe(err) }, 'notification sender stopped'));
  }

  get settings(): EndpointSettings {
    return this.#settings;
  }

  /** Events waiting for this endpoint. */
  get queued(): number {
    return this.#queued;
  }

  /** Called after events were appended for this endpoint. */
  appended(count = 1): void {
    this.#queued += count;
    this.#wake?.();
  }

  /** Stops after the POST in flight is aborted; what was not acknowledged stays queued for the next start. */
  async stop(): Promise<void> {
    this.#stop.abort();
    this.#wake?.();
    await this.#running;
    await this.#acknowledge();
    await this.#claim?.release().catch((err: unknown) => this.#logger.warn({ reason: describe(err) }, 'notification claim not released'));
    this.#claim = undefined;
  }

  async #run(): Promise<void> {
    const { signal } = this.#stop;
    let counted = false;
    while (!signal.aborted) {
      try {
        if (!counted) {
          // What the queue held at start; `appended` may have counted some of it already.
          this.#queued = Math.max(this.#queued, await this.#queue.count(this.#settings.name));
          counted = true;
        }
        await this.#step(signal);
      } catch (err) {
        this.#logger.warn({ reason: describe(err), backoffMs: this.#settings.backoffMs }, 'notification queue unavailable, retrying after backoff');
        await sleep(this.#settings.backoffMs, undefined, { signal }).catch(() => undefined);
      }
    }
  }

  async #step(signal: AbortSignal): Promise<void> {
    if (this.#claim && !this.#claim.held) {
      // Another replica may deliver now: at most the event in flight was sent twice (at-least-once).
      this.#logger.warn('notification claim lost; claiming again before the next delivery');
      this.#claim = undefined;
    }
    if (!this.#claim) {
      this.#claim = await this.#queue.claim(this.#settings.name);
      if (!this.#claim) {
        // Another replica delivers; what this one appended is counted down by it, so count again.
        await this.#idle(true);
        this.#queued = await this.#queue.count(this.#settings.name);
        return;
      }
    }
    const head = await this.#queue.head(this.#settings.name, this.#acked);
    if (!head) {
      await this.#acknowledge();
      await this.#idle(this.#queue.shared);
      return;
    }
    const failure = await this.#deliver(head, signal);
    if (failure === undefined) this.#delivered(head);
    else if (!signal.aborted) await this.#failed(failure, signal);
  }

  /** Until `appended` wakes it, or (`poll`) for `pollMs`. */
  async #idle(poll: boolean): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.#wake = resolve;
      if (poll) timer = setTimeout(resolve, this.#pollMs);
    });
    clearTimeout(timer);
    this.#wake = undefined;
  }

  /** Removes what was delivered; on a database error the removal is left for the next time. */
  async #acknowledge(): Promise<void> {
    clearTimeout(this.#ackTimer);
    this.#ackTimer = undefined;
    const count = this.#unacknowledged;
    if (count === 0) return;
    try {
      await this.#queue.removeThrough(this.#settings.name, this.#acked);
      this.#unacknowledged -= count;
    } catch (err) {
      this.#logger.warn({ reason: describe(err) }, 'delivered notifications not yet removed from the queue; retried later');
      if (!this.#stop.signal.aborted) this.#ackTimer = setTimeout(() => void this.#acknowledge(), this.#settings.backoffMs).unref();
    }
  }

  /** undefined when delivered, else why not. */
  async #deliver(head: QueuedEvent, signal: AbortSignal): Promise<string | undefined> {
    try {
      const status = await this.#post(this.#settings, envelopeOf(head.event), signal);
      return status >= 200 && status < 400 ? undefined : `response status ${status} unaccepted`;
    } catch (err) {
      return describe(err);
    }
  }

  #delivered(head: QueuedEvent): void {
    this.#acked = head.seq;
    this.#unacknowledged++;
    if (this.#unacknowledged >= ackBatch) void this.#acknowledge();
    else this.#ackTimer ??= setTimeout(() => void this.#acknowledge(), ackDelayMs).unref();
    this.#queued = Math.max(0, this.#queued - 1);
    if (this.#failures >= this.#settings.threshold) this.#logger.info({ queued: this.#queued }, 'notification endpoint reachable again');
    this.#failures = 0;
  }

  async #failed(reason: string, signal: AbortSignal): Promise<void> {
    this.#failures++;
    if (this.#failures < this.#settings.threshold) {
      this.#logger.debug({ reason, failures: this.#failures }, 'notification not delivered, retrying');
      return;
    }
    if (this.#failures === this.#settings.threshold) {
      this.#logger.warn({ reason, queued: this.#queued, backoffMs: this.#settings.backoffMs }, 'notification endpoint failing, retrying after each backoff');
    }
    await sleep(this.#settings.backoffMs, undefined, { signal }).catch(() => undefined);
  }
}

/** The POST distribution's httpSink makes: the envelope, its media type, the endpoint's headers, a timeout. */
export async function httpPost(settings: EndpointSettings, body: string, signal: AbortSignal): Promise<number> {
  const headers = new Headers(settings.headers);
  headers.set('content-type', eventsMediaType);
  const response = await fetch(settings.url, {
    method: 'POST',
    headers,
    body,
    signal: AbortSignal.any([signal, AbortSignal.timeout(settings.timeoutMs)]),
  });
  await response.body?.cancel();
  return response.status;
}

/** Why a POST or the queue failed, for the log: never a URL's userinfo, never a header's value. */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return redactUserinfo(String(err));
  // undici's TypeErrors for a bad header or URL quote the value; name them only.
  if (err.name === 'TypeError' && !(err.cause instanceof Error)) return 'TypeError: request could not be built (invalid URL or header)';
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return redactUserinfo(`${err.message}${cause}`);
}
