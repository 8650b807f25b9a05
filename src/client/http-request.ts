import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { pipeline, Readable } from 'node:stream';
import { Fault } from '../base/fault.ts';

export interface HttpRequestOptions {
  method?: string;
  headers?: Record<string, string>;
  /** Extra CA certificates (PEM) trusted for https. */
  ca?: string | Buffer;
  /** Skip certificate verification (insecure registries). */
  insecureTls?: boolean;
  signal?: AbortSignal;
  /** Redirects to follow (registries redirect blob GETs to storage). */
  maxRedirects?: number;
  /** A request body: bytes, or a stream sent once (never replayed on a redirect). */
  body?: Buffer | Readable;
}

const answerOrigins = new WeakMap<IncomingMessage, { origin: string; redirectedHost?: string }>();

/** The origin that sent a response of `sendRequest`: where its redirects led. */
export function answeredFrom(res: IncomingMessage): string | undefined {
  return answerOrigins.get(res)?.origin;
}

/**
 * When redirects led a response of `sendRequest` off the origin first asked (to a registry's blob storage), what
 * callers say of it: that host and its status only, since its page is not the registry's word; else undefined.
 */
export function redirectedAnswer(res: IncomingMessage): string | undefined {
  const host = answerOrigins.get(res)?.redirectedHost;
  return host === undefined ? undefined : `the host it redirected to (${host}) answered ${res.statusCode}`;
}

/**
 * One HTTP(S) request whose response body stays a stream. Redirects are followed, dropping Authorization when
 * the origin changes (a signed storage URL must not receive the registry token); https never redirects to http.
 */
export async function sendRequest(url: URL, options: HttpRequestOptions = {}): Promise<IncomingMessage> {
  let current = url;
  let headers = { ...options.headers };
  for (let hop = 0; ; hop++) {
    if (hop > 0 && options.body instanceof Readable) {
      throw new Fault('unavailable', `${url.host} redirected a streamed upload, which cannot be sent twice`);
    }
    const res = await sendOnce(current, { ...options, headers });
    const location = res.headers.location;
    if (!location || ![301, 302, 303, 307, 308].includes(res.statusCode ?? 0)) {
      answerOrigins.set(res, current.origin === url.origin ? { origin: current.origin } : { origin: current.origin, redirectedHost: current.host });
      return res;
    }
    res.resume();
    if (hop >= (options.maxRedirects ?? 5)) throw new Fault('unavailable', `too many redirects from ${url.host}`);
    const next = new URL(location, current);
    // Bytes asked for over https never come back over plain http (nor do credentials go there), as RegistrySession
    // refuses such a Location; the host alone would let https://h/ -> http://h/ keep the token, in cleartext.
    if (current.protocol === 'https:' && next.protocol !== 'https:') {
      throw new Fault('unavailable', `${current.host} redirected to ${next.origin}, which is not https`);
    }
    if (next.origin !== current.origin) {
      headers = Object.fromEntries(Object.entries(headers).filter(([k]) => k.toLowerCase() !== 'authorization'));
    }
    current = next;
  }
}

function sendOnce(url: URL, options: HttpRequestOptions): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const common = { method: options.method ?? 'GET', headers: options.headers, signal: options.signal };
    const req =
      url.protocol === 'https:'
        ? httpsRequest(url, { ...common, ca: options.ca, rejectUnauthorized: !options.insecureTls })
        : httpRequest(url, common);
    req.once('response', (res) => {
      // An abort or a reset after the headers surfaces on the stream's consumer (read, pipe handler, for await);
      // these keep the late duplicate 'error' events of an aborted exchange from becoming uncaught.
      res.on('error', () => undefined);
      resolve(res);
    });
    req.on('error', (err) => reject(options.signal?.aborted ? err : connectionFault(url, options.method ?? 'GET', err)));
    // pipeline: a request that fails or is answered early also closes the source (a blob's file handle).
    if (options.body instanceof Readable) pipeline(options.body, req, () => undefined);
    else req.end(options.body);
  });
}

const unknownAuthority = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
]);

/** A request that never got a response, worded as moby's Go client words it (the CLI prints it as is). */
export function connectionFault(url: URL, method: string, err: Error & { code?: string }): Fault {
  const code = err.code ?? '';
  const reason = unknownAuthority.has(code)
    ? 'tls: failed to verify certificate: x509: certificate signed by unknown authority'
    : code === 'ERR_TLS_CERT_ALTNAME_INVALID'
      ? `tls: failed to verify certificate: x509: ${err.message}`
      : code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID'
        ? 'tls: failed to verify certificate: x509: certificate has expired or is not yet valid'
        : code === 'EPROTO' && /wrong version number|packet length too long|http request/i.test(err.message)
          ? 'http: server gave HTTP response to HTTPS client'
          : code === 'ECONNREFUSED'
            ? `dial tcp ${url.host}: connect: connection refused`
            : err.message;
  const verb = method.charAt(0) + method.slice(1).toLowerCase();
  return new Fault('unavailable', `${verb} "${url.href}": ${reason}`, { cause: err });
}

/** Reads a small response body whole, refusing more than `limit` bytes. */
export async function readBody(res: IncomingMessage, limit = 4 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      res.destroy();
      throw new Fault('too-large', `response from ${res.url ?? 'registry'} exceeds ${limit} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
