import { connect, type Socket } from 'node:net';
import { Fault } from '../base/fault.ts';
import { connectionFault } from './http-request.ts';

export interface RawGetOptions {
  headers: Record<string, string>;
  signal?: AbortSignal;
  /** The body fails when nothing arrives for this long while its reader waits for bytes. */
  stallMs: number;
  /** The body's failures, worded by the caller (`why` says what happened, after how many bytes). */
  bodyFault: (why: string, cause?: unknown) => Error;
  /** The reused read buffer's size; 1 MiB by default. */
  bufferBytes?: number;
}

export interface RawResponse {
  statusCode: number;
  /** Lower-case names; a repeated header's values joined with ", ". */
  headers: Record<string, string>;
  /** Content-Length, when the response has one and no Transfer-Encoding. */
  length: number | undefined;
  /** Exactly `length` bytes; only when there is a `length`. */
  body: BorrowedBody;
}

// The response head is read whole before anything else: more than this is not a registry's answer.
const maxHeadBytes = 64 * 1024;
const defaultBufferBytes = 1024 * 1024;

/**
 * A GET over plain http whose body is read straight from the socket into one reused buffer, for bodies that only
 * pass through (a blob the mirror relays): node:http allocates a buffer per socket read and copies each body
 * chunk again, and at hundreds of MiB/s those allocations kept the garbage collector busier than anything else
 * in the mirror (docs/benchmarks.md, "Mirror"). HTTP/1.1 with `Connection: close`: the body is the Content-Length
 * bytes after the head, and the connection is not reused. Anything else the caller sends through node:http
 * (RegistrySession: token challenges, redirects, chunked bodies); this only answers what came back.
 */
export function rawGet(url: URL, options: RawGetOptions): Promise<RawResponse> {
  if (url.protocol !== 'http:') throw new Fault('internal', `rawGet is for http: URLs, not ${url.protocol}`);
  options.signal?.throwIfAborted();
  return new Promise((resolve, reject) => {
    const reader = new RawReader(url, options, resolve, reject);
    reader.start();
  });
}

/**
 * A body whose chunks are views of the reader's one buffer: each is valid only until the next is asked for (the
 * socket reads nothing meanwhile), so a consumer copies what it keeps before asking again.
 */
export interface BorrowedBody extends AsyncIterable<Uint8Array> {
  readonly readableEnded: boolean;
  destroy(err?: unknown): void;
}

type Waiter = { resolve: (chunk: Uint8Array | undefined) => void; reject: (err: unknown) => void };

class RawReader implements BorrowedBody {
  readableEnded = false;
  #url: URL;
  #options: RawGetOptions;
  #resolve: (res: RawResponse) => void;
  #reject: (err: unknown) => void;
  #buffer: Buffer;
  #socket: Socket | undefined;
  #head: Buffer[] = [];
  #headBytes = 0;
  #response: RawResponse | undefined;
  /** Body bytes that arrived with the head: the first chunk. */
  #early: Buffer | undefined;
  #remaining = 0;
  #received = 0;
  #waiter: Waiter | undefined;
  #failure: { err: unknown } | undefined;
  #stall: NodeJS.Timeout | undefined;
  #onAbort = () => this.destroy(this.#options.signal?.reason);

  constructor(url: URL, options: RawGetOptions, resolve: (res: RawResponse) => void, reject: (err: unknown) => void) {
    this.#url = url;
    this.#options = options;
    this.#resolve = resolve;
    this.#reject = reject;
    this.#buffer = Buffer.allocUnsafe(options.bufferBytes ?? defaultBufferBytes);
  }

  start(): void {
    const url = this.#url;
    const socket = connect({
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: Number(url.port || 80),
      onread: { buffer: this.#buffer, callback: (n: number) => this.#onRead(n) },
    });
    this.#socket = socket;
    socket.once('error', (err) => this.#fail(this.#response ? this.#options.bodyFault(`the transfer broke off (${err.message})`, err) : connectionFault(url, 'GET', err)));
    socket.once('close', () =>
      this.#fail(this.#response ? this.#options.bodyFault(`the connection closed after ${this.#received} bytes`) : new Fault('unavailable', `Get "${url.href}": EOF`)),
    );
    this.#options.signal?.addEventListener('abort', this.#onAbort, { once: true });
    const headers = { ...this.#options.headers, host: url.host, connection: 'close' };
    // As node:http refuses them: a value with a line break would be a header (or a request) of its own.
    const bad = Object.entries(headers).find(([name, value]) => /[\r\n]/.test(name + value));
    if (bad) return this.#fail(new Fault('invalid-argument', `header ${bad[0]} holds a line break`));
    const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
    socket.write(`GET ${url.pathname}${url.search} HTTP/1.1\r\n${lines.join('')}\r\n`);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    if (this.#early) {
      const early = this.#early;
      this.#early = undefined;
      yield early;
    }
    for (;;) {
      const chunk = await this.#next();
      if (!chunk) return;
      yield chunk;
    }
  }

  destroy(err?: unknown): void {
    this.#fail(err ?? new Fault('unavailable', 'the body was closed before its end'));
  }

  /** The next chunk, read once asked for; undefined at the end. */
  #next(): Promise<Uint8Array | undefined> {
    if (this.#failure) return Promise.reject(this.#failure.err);
    if (this.#remaining === 0) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
      this.#armStall();
      this.#socket?.resume();
    });
  }

  /**
   * Every read of the body pauses the socket: the buffer is the consumer's until it asks for more. The head is read
   * on (true) until it is whole: a `resume()` from inside this callback does nothing once the socket flows, since
   * node still counts its handle as reading here, so a head in three reads or more was never finished.
   */
  #onRead(n: number): boolean {
    clearTimeout(this.#stall);
    if (this.#failure) return false;
    if (!this.#response) {
      this.#readHead(n);
      return this.#response === undefined && this.#failure === undefined;
    }
    const take = Math.min(n, this.#remaining);
    this.#remaining -= take;
    this.#received += take;
    if (this.#remaining === 0) this.#end();
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.resolve(this.#buffer.subarray(0, take));
    return false;
  }

  #readHead(n: number): void {
    const bytes = Buffer.from(this.#buffer.subarray(0, n));
    this.#head.push(bytes);
    this.#headBytes += n;
    const all = this.#head.length === 1 ? bytes : Buffer.concat(this.#head);
    const end = all.indexOf('\r\n\r\n');
    if (end < 0) {
      if (this.#headBytes > maxHeadBytes) return this.#fail(new Fault('unavailable', `${this.#url.host} sent a response head of more than ${maxHeadBytes} bytes`));
      return;
    }
    this.#head = [];
    const response = parseHead(all.subarray(0, end).toString('latin1'), this.#url, this);
    if (response instanceof Error) return this.#fail(response);
    this.#response = response;
    this.#remaining = response.length ?? 0;
    const early = all.subarray(end + 4, end + 4 + this.#remaining);
    if (early.byteLength > 0) this.#early = early;
    this.#remaining -= early.byteLength;
    this.#received = early.byteLength;
    if (this.#remaining === 0) this.#end();
    this.#resolve(response);
  }

  #armStall(): void {
    clearTimeout(this.#stall);
    const { stallMs, bodyFault } = this.#options;
    this.#stall = setTimeout(() => this.#fail(bodyFault(`it sent nothing for ${stallMs / 1000} s after ${this.#received} bytes`)), stallMs);
  }

  /** Every byte arrived: the connection is done with (it was asked to close). */
  #end(): void {
    this.readableEnded = true;
    this.#cleanUp();
    this.#socket?.destroy();
  }

  #fail(err: unknown): void {
    if (this.#failure || this.readableEnded) return;
    this.#failure = { err };
    this.#cleanUp();
    this.#socket?.destroy();
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.reject(err);
    if (!this.#response) this.#reject(err);
  }

  #cleanUp(): void {
    clearTimeout(this.#stall);
    this.#options.signal?.removeEventListener('abort', this.#onAbort);
  }
}

/** The status line and headers; an Error when they are not HTTP/1.x's. */
function parseHead(text: string, url: URL, body: BorrowedBody): RawResponse | Error {
  const [statusLine, ...lines] = text.split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(statusLine);
  if (!status) return new Fault('unavailable', `${url.host} did not answer with HTTP/1.x: ${JSON.stringify(statusLine.slice(0, 80))}`);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) return new Fault('unavailable', `${url.host} sent a malformed header line: ${JSON.stringify(line.slice(0, 80))}`);
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  const declared = headers['content-length'];
  const length = headers['transfer-encoding'] === undefined && declared !== undefined && /^\d+$/.test(declared) ? Number(declared) : undefined;
  return { statusCode: Number(status[1]), headers, length, body };
}
