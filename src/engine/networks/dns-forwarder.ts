/*
 * Forwards queries the embedded DNS cannot answer to upstream resolvers, as moby's Resolver.forwardExtDNS does:
 * at most the first three upstreams (maxExtDNS), in order, over the client's transport; an upstream that fails,
 * times out, or answers SERVFAIL or REFUSED passes the query to the next one; the first other answer is passed
 * back as is, with the client's query ID. The number of forwards in flight is bounded (moby: 1024, then REFUSED).
 */
import { randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { isIP, connect } from 'node:net';
import type { Logger } from '../../base/log.ts';
import { dnsRcodes, parseHeader, peekId, withId } from './dns-message.ts';

export type DnsTransport = 'udp' | 'tcp';

export interface Upstream {
  host: string;
  port: number;
}

export interface DnsForwarderOptions {
  logger: Logger;
  upstreams: () => string[];
  /** Per upstream (moby waits 4 s; a container's resolver gives up after 5 s, so 2 s leaves room for a second). */
  timeoutMs?: number;
  maxInFlight?: number;
  /** Addresses never forwarded to (the engine's own listeners: forwarding to them would loop). */
  isOwnAddress?: (upstream: Upstream) => boolean;
}

/** `'busy'`: too many forwards in flight; undefined: no upstream answered. */
export type ForwardResult = Uint8Array | 'busy' | undefined;

const maxUpstreams = 3;
const maxMessage = 65535;

/** `1.2.3.4`, `1.2.3.4:5353`, `::1`, `[::1]:5353` -> host and port; anything else -> undefined. */
export function parseUpstream(text: string): Upstream | undefined {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  const [host, port] = bracketed ? [bracketed[1], bracketed[2]] : isIP(text) ? [text, undefined] : text.split(/:(?=\d+$)/);
  const portNumber = port === undefined ? 53 : Number(port);
  if (!isIP(host ?? '') || !Number.isInteger(portNumber) || portNumber < 1 || portNumber > 65535) return undefined;
  return { host, port: portNumber };
}

export class DnsForwarder {
  readonly #options: DnsForwarderOptions;
  readonly #timeoutMs: number;
  readonly #maxInFlight: number;
  #inFlight = 0;
  readonly #closing = new AbortController();

  constructor(options: DnsForwarderOptions) {
    this.#options = options;
    this.#timeoutMs = options.timeoutMs ?? 2000;
    this.#maxInFlight = options.maxInFlight ?? 1024;
  }

  /** Ends every forward in flight (each resolves as unanswered). */
  close(): void {
    this.#closing.abort();
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** `upstreams`: this query's own resolvers (a container's `--dns`) instead of the configured ones, same rules. */
  async forward(query: Uint8Array, transport: DnsTransport, upstreams?: readonly string[]): Promise<ForwardResult> {
    const clientId = peekId(query);
    if (clientId === undefined) return undefined;
    if (this.#inFlight >= this.#maxInFlight) return 'busy';
    this.#inFlight++;
    try {
      for (const upstream of this.#upstreams(upstreams)) {
        if (this.#closing.signal.aborted) return undefined;
        const answer = await this.#exchange(upstream, query, transport);
        if (answer !== undefined) return withId(answer, clientId);
      }
      return undefined;
    } finally {
      this.#inFlight--;
    }
  }

  #upstreams(given: readonly string[] | undefined): Upstream[] {
    let texts: readonly string[];
    try {
      texts = given ?? this.#options.upstreams();
    } catch (err) {
      this.#options.logger.warn({ err }, 'embedded DNS: cannot read the upstream resolvers');
      return [];
    }
    const own = this.#options.isOwnAddress ?? (() => false);
    return texts.map(parseUpstream).filter((u): u is Upstream => u !== undefined && !own(u)).slice(0, maxUpstreams);
  }

  async #exchange(upstream: Upstream, query: Uint8Array, transport: DnsTransport): Promise<Uint8Array | undefined> {
    const id = randomInt(0x10000);
    const exchange = transport === 'udp' ? exchangeUdp : exchangeTcp;
    const answer = await exchange(upstream, withId(query, id), { timeoutMs: this.#timeoutMs, signal: this.#closing.signal }).catch((err: unknown) => {
      this.#options.logger.debug({ err, upstream }, 'embedded DNS: upstream failed');
      return undefined;
    });
    if (answer === undefined || peekId(answer) !== id) return undefined;
    const { qr, rcode } = parseHeader(answer);
    if (!qr || rcode === dnsRcodes.SERVFAIL || rcode === dnsRcodes.REFUSED) return undefined;
    return answer;
  }
}

interface ExchangeLimits {
  timeoutMs: number;
  signal: AbortSignal;
}

/**
 * A promise settled once, by `start`'s callback, by the timeout or by the abort; `cleanup` then runs once.
 * The abort listener is removed on settling so the long-lived signal does not collect one per query.
 */
function bounded(limits: ExchangeLimits, start: (finish: (answer: Uint8Array | undefined) => void) => () => void): Promise<Uint8Array | undefined> {
  return new Promise((resolve) => {
    let done = false;
    let cleanup = () => {};
    const finish = (answer: Uint8Array | undefined) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      limits.signal.removeEventListener('abort', onAbort);
      cleanup();
      resolve(answer);
    };
    const onAbort = () => finish(undefined);
    const timer = setTimeout(onAbort, limits.timeoutMs);
    limits.signal.addEventListener('abort', onAbort, { once: true });
    // Every callback of `start` comes from an event, so `cleanup` is set before `finish` can run.
    cleanup = start(finish);
    if (limits.signal.aborted) finish(undefined);
  });
}

/** One query over a connected UDP socket of its own (a fresh source port per query); the first matching answer wins. */
function exchangeUdp(upstream: Upstream, query: Uint8Array, limits: ExchangeLimits): Promise<Uint8Array | undefined> {
  return bounded(limits, (finish) => {
    const socket = createSocket(isIP(upstream.host) === 6 ? 'udp6' : 'udp4');
    socket.on('error', () => finish(undefined));
    socket.on('message', (message) => {
      if (peekId(message) === peekId(query)) finish(message);
    });
    socket.connect(upstream.port, upstream.host, () => socket.send(query, (err) => err && finish(undefined)));
    return () => socket.close();
  });
}

/** One query over TCP with the 2-byte length prefix (RFC 1035 4.2.2). */
function exchangeTcp(upstream: Upstream, query: Uint8Array, limits: ExchangeLimits): Promise<Uint8Array | undefined> {
  return bounded(limits, (finish) => {
    const socket = connect({ host: upstream.host, port: upstream.port });
    let received = Buffer.alloc(0);
    socket.on('error', () => finish(undefined));
    socket.on('end', () => finish(undefined));
    socket.on('connect', () => socket.write(frame(query)));
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      const length = received.length >= 2 ? received.readUInt16BE(0) : maxMessage;
      if (received.length >= 2 + length) finish(Uint8Array.from(received.subarray(2, 2 + length)));
    });
    return () => socket.destroy();
  });
}

/** A message with its TCP length prefix. */
export function frame(message: Uint8Array): Buffer {
  const out = Buffer.alloc(2 + message.length);
  out.writeUInt16BE(message.length, 0);
  out.set(message, 2);
  return out;
}
