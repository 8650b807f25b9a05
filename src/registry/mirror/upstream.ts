import type { IncomingMessage } from 'node:http';
import { type Readable, Transform } from 'node:stream';
import { rootCertificates } from 'node:tls';
import { Fault, isFault } from '../../base/fault.ts';
import { jsonOrUndefined } from '../../base/json.ts';
import { readBody, redirectedAnswer } from '../../client/http-request.ts';
import { type BorrowedBody, rawGet } from '../../client/raw-get.ts';
import { type RegistryAuth, type RegistryClient, registryErrorText, type RegistrySession, type SessionRequestOptions } from '../../client/registry-client.ts';
import { digestOf, isDigest, parseDigest } from '../../oci/digest.ts';
import { bareMediaType, isManifestMediaType, mediaTypes } from '../../oci/media-types.ts';

export interface UpstreamManifest {
  digest: string;
  mediaType: string;
  body: Buffer;
}

export interface UpstreamManifestHead {
  digest: string;
  mediaType: string;
  size: number;
}

export interface UpstreamBlob {
  size: number;
  /** Each chunk may be reused once the next is asked for (over plain http it is: rawGet). */
  stream: BorrowedBody;
}

/**
 * One upstream registry of the pull-through cache. Failures of the upstream (refused or reset connection, no
 * answer in time, 5xx, 429, credentials refused, a digest that does not match) throw Fault('unavailable', …) with
 * code UPSTREAM_UNAVAILABLE and detail {upstream, status | digest}: the mirror's client did nothing wrong.
 */
export interface Upstream {
  /** The prefix, or the URL's host for the default upstream: the label of logs and metrics. */
  readonly name: string;
  readonly url: string;
  /** What the tag or digest names there; undefined when the upstream says 404. */
  headManifest(remoteName: string, reference: string, signal?: AbortSignal): Promise<UpstreamManifestHead | undefined>;
  /** Verified: by digest the bytes hash to it; by tag they hash to Docker-Content-Digest when sent. undefined on 404. */
  getManifest(remoteName: string, reference: string, signal?: AbortSignal): Promise<UpstreamManifest | undefined>;
  /** The blob's body as it arrives (not verified: BlobFetches verifies); undefined on 404. */
  openBlob(remoteName: string, digest: string, signal?: AbortSignal): Promise<UpstreamBlob | undefined>;
  headBlob(remoteName: string, digest: string, signal?: AbortSignal): Promise<{ size: number } | undefined>;
}

export interface UpstreamTimeouts {
  /** From sending a request to its response headers, the token flow included (connect and first byte). */
  responseMs: number;
  /** A body that sends nothing for this long while its reader waits is broken off. */
  stallMs: number;
}

const defaultUpstreamTimeouts: UpstreamTimeouts = { responseMs: 30_000, stallMs: 60_000 };

export interface RegistryUpstreamOptions {
  name: string;
  /** The registry's root, http or https: the scheme is used as given (no https probe, no fallback). */
  url: string;
  client: RegistryClient;
  auth?: RegistryAuth;
  /** PEM CA certificates trusted for https besides Node's bundled roots. */
  ca?: string;
  maxManifestBytes: number;
  timeouts?: Partial<UpstreamTimeouts>;
}

/** Every manifest type wharf stores, so the upstream never narrows a list to one platform for us. */
const manifestAccept = [mediaTypes.ociIndex, mediaTypes.ociManifest, mediaTypes.dockerManifestList, mediaTypes.dockerManifest].join(', ');

/** Sessions (and their tokens) kept per remote repository; the least recently used go past this many. */
const maxSessions = 256;

/** An upstream reached with the distribution API through src/client: Basic or the Bearer token flow. */
export class RegistryUpstream implements Upstream {
  readonly name: string;
  readonly url: string;
  #client: RegistryClient;
  #auth: RegistryAuth;
  #ca: string | undefined;
  #maxManifestBytes: number;
  #timeouts: UpstreamTimeouts;
  #sessions = new Map<string, RegistrySession>();

  constructor(options: RegistryUpstreamOptions) {
    this.name = options.name;
    this.url = options.url;
    this.#client = options.client;
    this.#auth = options.auth ?? {};
    this.#ca = options.ca === undefined ? undefined : `${rootCertificates.join('\n')}\n${options.ca}`;
    this.#maxManifestBytes = options.maxManifestBytes;
    this.#timeouts = { ...defaultUpstreamTimeouts, ...options.timeouts };
  }

  async headManifest(remoteName: string, reference: string, signal?: AbortSignal): Promise<UpstreamManifestHead | undefined> {
    const res = await this.#fetch(remoteName, `manifests/${reference}`, { method: 'HEAD', headers: { accept: manifestAccept } }, signal);
    if (!res) return undefined;
    res.resume();
    const sent = header(res, 'docker-content-digest');
    // Not every registry names the digest on HEAD: the bytes then tell.
    if (sent === undefined && !isDigest(reference)) {
      const manifest = await this.getManifest(remoteName, reference, signal);
      return manifest && { digest: manifest.digest, mediaType: manifest.mediaType, size: manifest.body.length };
    }
    if (sent !== undefined && isDigest(reference) && sent !== reference) throw this.#mismatch(reference);
    const digest = sent ?? reference;
    if (!isDigest(digest)) throw this.#mismatch(digest);
    return { digest, mediaType: bareMediaType(header(res, 'content-type') ?? ''), size: Number(header(res, 'content-length') ?? 0) };
  }

  async getManifest(remoteName: string, reference: string, signal?: AbortSignal): Promise<UpstreamManifest | undefined> {
    const res = await this.#fetch(remoteName, `manifests/${reference}`, { headers: { accept: manifestAccept } }, signal);
    if (!res) return undefined;
    const body = await this.#readManifest(res, `manifest ${remoteName}:${reference}`, signal);
    const expected = isDigest(reference) ? reference : header(res, 'docker-content-digest');
    const digest = expected === undefined ? digestOf(body) : expected;
    if (!hashesTo(body, digest)) throw this.#mismatch(digest);
    return { digest, mediaType: manifestMediaType(header(res, 'content-type'), body), body };
  }

  async openBlob(remoteName: string, digest: string, signal?: AbortSignal): Promise<UpstreamBlob | undefined> {
    const raw = await this.#openRawBlob(remoteName, digest, signal);
    if (raw) return raw;
    const res = await this.#fetch(remoteName, `blobs/${digest}`, {}, signal);
    if (!res) return undefined;
    const size = contentLength(res);
    if (size === undefined) {
      res.destroy();
      throw this.#unavailable(`it sent blob ${digest} without a Content-Length`, res.statusCode);
    }
    return { size, stream: this.#watch(res, `blob ${digest}`, signal) };
  }

  async headBlob(remoteName: string, digest: string, signal?: AbortSignal): Promise<{ size: number } | undefined> {
    const res = await this.#fetch(remoteName, `blobs/${digest}`, { method: 'HEAD' }, signal);
    if (!res) return undefined;
    res.resume();
    const size = contentLength(res);
    if (size === undefined) throw this.#unavailable(`it answered HEAD of blob ${digest} without a Content-Length`, res.statusCode);
    return { size };
  }

  /** A 2xx response (its body unread), undefined on 404; anything else is the upstream's failure. */
  async #fetch(remoteName: string, path: string, options: SessionRequestOptions, signal?: AbortSignal): Promise<IncomingMessage | undefined> {
    const res = await this.#exchange(remoteName, `/v2/${remoteName}/${path}`, options, signal);
    const status = res.statusCode ?? 0;
    if (status >= 200 && status < 300) return res;
    const body = await readBody(this.#watch(res, `its ${status} answer`, signal) as IncomingMessage, 64 * 1024).catch(() => Buffer.alloc(0));
    signal?.throwIfAborted();
    if (status === 404) return undefined;
    // What a host the upstream redirected to (its storage) says stays out of the message the mirror's clients read:
    // a hostile upstream could point the mirror at an internal host and have its error pages echoed back.
    throw this.#unavailable(redirectedAnswer(res) ?? this.#statusReason(status, body), status);
  }

  /**
   * Over plain http, the blob's body read straight from the socket (rawGet) when the upstream answers 200 with a
   * length at once; undefined for any other answer, which the session then asks for again and handles (a token
   * challenge, a redirect to storage, an error, a chunked body).
   */
  async #openRawBlob(remoteName: string, digest: string, signal?: AbortSignal): Promise<UpstreamBlob | undefined> {
    const session = this.#session(remoteName);
    const { url, headers } = await session.prepare(`/v2/${remoteName}/blobs/${digest}`);
    if (url.protocol !== 'http:') return undefined;
    const res = await this.#withDeadline(signal, (bounded) =>
      rawGet(url, {
        headers,
        signal: bounded,
        stallMs: this.#timeouts.stallMs,
        bodyFault: (why, cause) => (signal?.aborted ? signal.reason : this.#unavailable(`${why} of blob ${digest}`, 200, cause)),
      }),
    );
    if (res.statusCode === 200 && res.length !== undefined) return { size: res.length, stream: res.body };
    res.body.destroy();
    return undefined;
  }

  /** One request with the response deadline; the caller's own abort passes through untouched. */
  #exchange(remoteName: string, path: string, options: SessionRequestOptions, signal?: AbortSignal): Promise<IncomingMessage> {
    return this.#withDeadline(signal, (bounded) => this.#session(remoteName).request(path, { ...options, signal: bounded }));
  }

  /** `send` bounded by the response deadline; its failures worded as the upstream's, the caller's abort as it is. */
  async #withDeadline<T>(signal: AbortSignal | undefined, send: (bounded: AbortSignal) => Promise<T>): Promise<T> {
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), this.#timeouts.responseMs);
    try {
      return await send(signal ? AbortSignal.any([signal, deadline.signal]) : deadline.signal);
    } catch (err) {
      if (signal?.aborted) throw err;
      if (deadline.signal.aborted) throw this.#unavailable(`no answer within ${this.#timeouts.responseMs / 1000} s`, undefined, err);
      // The message already says what the error said: not its cause too, or the log (pino appends causes' messages) repeats it.
      if (isFault(err, 'unauthenticated')) throw this.#unavailable(`its token endpoint refused the mirror's credentials (${err.message})`, 401);
      throw this.#unavailable((err as Error).message, undefined);
    } finally {
      clearTimeout(timer);
    }
  }

  #session(remoteName: string): RegistrySession {
    let session = this.#sessions.get(remoteName);
    if (session) this.#sessions.delete(remoteName);
    else session = this.#client.sessionAt({ base: new URL(this.url), ca: this.#ca, insecureTls: false }, remoteName, this.#auth);
    this.#sessions.set(remoteName, session);
    if (this.#sessions.size > maxSessions) this.#sessions.delete(this.#sessions.keys().next().value as string);
    return session;
  }

  #statusReason(status: number, body: Buffer): string {
    const text = registryErrorText(body);
    const said = text ? `: ${text}` : '';
    if (status === 401 || status === 403) {
      return this.#auth.username !== undefined
        ? `it refused the mirror's credentials (${status}${said})`
        : `it requires credentials, and the mirror has none for it (${status}${said})`;
    }
    if (status === 429) return `it is rate-limiting the mirror (429${said})`;
    return `it answered ${status}${said}`;
  }

  async #readManifest(res: IncomingMessage, what: string, signal: AbortSignal | undefined): Promise<Buffer> {
    try {
      return await readBody(this.#watch(res, what, signal) as IncomingMessage, this.#maxManifestBytes);
    } catch (err) {
      if (signal?.aborted) throw err;
      if (isFault(err, 'too-large')) throw this.#unavailable(`it sent a ${what} larger than ${this.#maxManifestBytes} bytes`, res.statusCode, err);
      throw isFault(err) ? err : this.#unavailable((err as Error).message, res.statusCode);
    }
  }

  /**
   * The body as a stream that fails with the upstream's fault when the connection breaks off, or when nothing
   * arrives for stallMs while nothing waits for the reader either (a slow reader is not a stalled upstream).
   * Destroying it destroys the response, so the socket is never left half-read; the caller's abort ends it with
   * the abort's reason.
   */
  #watch(res: IncomingMessage, what: string, signal: AbortSignal | undefined): Readable {
    let received = 0;
    let timer: NodeJS.Timeout | undefined;
    const fail = (why: string, cause?: unknown) =>
      out.destroy(signal?.aborted ? signal.reason : this.#unavailable(`${why} after ${received} bytes of ${what}`, res.statusCode, cause));
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => (out.readableLength > 0 || out.writableLength > 0 ? arm() : fail(`it sent nothing for ${this.#timeouts.stallMs / 1000} s`)), this.#timeouts.stallMs);
    };
    const out = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        received += chunk.length;
        arm();
        done(null, chunk);
      },
      flush(done) {
        clearTimeout(timer);
        done();
      },
      destroy(err, done) {
        clearTimeout(timer);
        if (!res.readableEnded) res.destroy();
        done(err);
      },
    });
    res.once('error', (err) => fail('the transfer broke off', err));
    res.once('close', () => res.readableEnded || fail('the connection closed'));
    arm();
    res.pipe(out);
    return out;
  }

  #unavailable(why: string, status: number | undefined, cause?: unknown): Fault {
    return new Fault('unavailable', `upstream ${this.name} unavailable: ${why}`, { code: 'UPSTREAM_UNAVAILABLE', detail: { upstream: this.name, status }, cause });
  }

  #mismatch(digest: string): Fault {
    return new Fault('unavailable', `upstream ${this.name} sent content that does not match ${digest}`, { code: 'UPSTREAM_UNAVAILABLE', detail: { upstream: this.name, digest } });
  }
}

function header(res: IncomingMessage, name: string): string | undefined {
  const value = res.headers[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function contentLength(res: IncomingMessage): number | undefined {
  const value = header(res, 'content-length');
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}

function hashesTo(body: Buffer, digest: string): boolean {
  if (!isDigest(digest)) return false;
  const parsed = parseDigest(digest);
  return digestOf(body, parsed.algorithm) === parsed.value;
}

/** The type the upstream served it as; a generic Content-Type falls back to the document's own mediaType. */
function manifestMediaType(contentType: string | undefined, body: Buffer): string {
  const served = bareMediaType(contentType ?? '');
  if (isManifestMediaType(served)) return served;
  // Not JSON: the stored manifest is refused later by its parser, with its own message.
  const declared = (jsonOrUndefined(body) as { mediaType?: unknown } | null | undefined)?.mediaType;
  return typeof declared === 'string' && declared !== '' ? declared : served;
}
