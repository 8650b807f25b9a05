import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { FastifyRequest } from 'fastify';
import { formatHostPort } from '../../base/listen-address.ts';
import type { Logger } from '../../base/log.ts';
import { EndpointSender, type PostEnvelope } from './endpoint-sender.ts';
import { accepts, type EndpointConfig, endpointSettings } from './endpoint-settings.ts';
import type { EventOrigin, NotificationEvent } from './notification-event.ts';
import type { NotificationQueue } from './notification-queue.ts';
import { type RegistryEvents, type RequestEvents, requestEvents } from './request-events.ts';

export interface NotifierOptions {
  endpoints: readonly EndpointConfig[];
  queue: NotificationQueue;
  logger: Logger;
  /** registry.publicUrl: the base of the events' target URLs; the request's own when empty. */
  publicUrl: string;
  post?: PostEnvelope;
}

/**
 * distribution's notifications: every event is written to the on-disk queue of each endpoint that does not
 * ignore it, then a sender per endpoint delivers it. A push, mount or delete is on disk before the caller goes on
 * (so before the request is answered); pulls, which write nothing else, are committed together right after, at
 * the next turn of the event loop (one fsync for every pull of that turn instead of one each), and always before
 * any later event, so each endpoint's order holds: appends run one after another, each taking every event
 * pending when it starts (a failed one's first).
 */
export class Notifier implements RegistryEvents {
  readonly #senders: EndpointSender[];
  readonly #queue: NotificationQueue;
  readonly #logger: Logger;
  readonly #publicUrl: string;
  readonly #source = { host: hostname(), instanceID: randomUUID() };
  #pending: { json: string; takers: EndpointSender[] }[] = [];
  #flushSoon: NodeJS.Immediate | undefined;
  /** The last append started; the next one waits for it. */
  #appending: Promise<void> = Promise.resolve();

  constructor(options: NotifierOptions) {
    this.#queue = options.queue;
    this.#logger = options.logger;
    this.#publicUrl = options.publicUrl.replace(/\/+$/, '');
    const enabled = options.endpoints.filter((endpoint) => !endpoint.disabled);
    this.#senders = enabled.map((endpoint) => new EndpointSender({ settings: endpointSettings(endpoint), queue: options.queue, logger: options.logger, post: options.post }));
    this.#warnAboutOrphans(new Set(enabled.map((endpoint) => endpoint.name))).catch((err: unknown) =>
      this.#logger.warn({ err }, 'notification queue not readable for the orphaned-endpoint check'));
  }

  /** Resolves once the event is on disk (a pull's: at once, its append follows). */
  async publish(event: NotificationEvent): Promise<void> {
    const takers = this.#senders.filter((sender) => accepts(sender.settings, event) && this.#hasRoom(sender, event));
    if (takers.length > 0) this.#pending.push({ json: JSON.stringify(event), takers });
    if (event.action !== 'pull') await this.#flush();
    else this.#flushSoon ??= setImmediate(() => void this.#flushLater());
  }

  forRequest(request: FastifyRequest, actor?: string): RequestEvents {
    const base = this.#publicUrl || `${request.protocol}://${request.headers.host ?? ''}`;
    return requestEvents((event) => this.publish(event), this.#originOf(request, actor), base);
  }

  /**
   * The events of work no request started (an automated build's pushes): `actor` names the origin (addr, host)
   * and the actor; the URLs are under registry.publicUrl (relative when it is not set).
   */
  forActor(actor: string): RequestEvents {
    const origin: EventOrigin = {
      request: { id: randomUUID(), addr: actor, host: actor, method: '', useragent: '' },
      actor: { name: actor },
      source: { addr: this.#source.host, instanceID: this.#source.instanceID },
    };
    return requestEvents((event) => this.publish(event), origin, this.#publicUrl);
  }

  async close(): Promise<void> {
    await this.#flushLater();
    await Promise.all(this.#senders.map((sender) => sender.stop()));
  }

  /** Resolves when an append that started after this call (so took what is pending now) succeeded. */
  #flush(): Promise<void> {
    if (this.#flushSoon) clearImmediate(this.#flushSoon);
    this.#flushSoon = undefined;
    const run = this.#appending.then(() => this.#appendPending());
    this.#appending = run.catch(() => undefined);
    return run;
  }

  async #appendPending(): Promise<void> {
    const batch = this.#pending;
    if (batch.length === 0) return;
    this.#pending = [];
    try {
      await this.#queue.append(batch.map(({ json, takers }) => ({ event: json, endpoints: takers.map((sender) => sender.settings.name) })));
    } catch (err) {
      // Kept for the next try (the cap counts them), in front of anything published since.
      this.#pending = [...batch, ...this.#pending];
      throw err;
    }
    for (const { takers } of batch) for (const sender of takers) sender.appended();
  }

  /** A deferred flush has no request to fail: the events stay pending and the next publish or close tries again. */
  async #flushLater(): Promise<void> {
    try {
      await this.#flush();
    } catch (err) {
      this.#logger.error({ err, pending: this.#pending.length }, 'notifications could not be queued; retried with the next event');
    }
  }

  #hasRoom(sender: EndpointSender, event: NotificationEvent): boolean {
    const { maxQueued, name } = sender.settings;
    const queued = sender.queued + this.#pending.filter(({ takers }) => takers.includes(sender)).length;
    if (maxQueued === 0 || queued < maxQueued) return true;
    this.#logger.error({ endpoint: name, queued, maxQueued, eventId: event.id, action: event.action, repository: event.target.repository },
      'notification dropped: the endpoint\'s queue is full (registry.notifications.endpoints[].maxQueued)');
    return false;
  }

  #originOf(request: FastifyRequest, actor: string | undefined): EventOrigin {
    const socket = request.raw.socket;
    const userAgent = request.headers['user-agent'];
    return {
      request: {
        id: String(request.id),
        addr: socket?.remotePort !== undefined ? formatHostPort(request.ip, socket.remotePort) : request.ip,
        host: request.headers.host,
        method: request.method,
        useragent: typeof userAgent === 'string' ? userAgent : '',
      },
      actor: { name: actor },
      source: { addr: socket?.localPort !== undefined ? formatHostPort(this.#source.host, socket.localPort) : this.#source.host, instanceID: this.#source.instanceID },
    };
  }

  /** Events queued for an endpoint that is gone from the config (or disabled) wait for it; say so once. */
  async #warnAboutOrphans(active: ReadonlySet<string>): Promise<void> {
    for (const name of await this.#queue.endpointsQueued()) {
      if (!active.has(name)) this.#logger.warn({ endpoint: name, queued: await this.#queue.count(name) }, 'notifications queued for an endpoint that is not configured or disabled; kept until it is back');
    }
  }
}
