import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
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
}

/**
 * One HTTP(S) request whose response body stays a stream. Redirects are followed, dropping Authorization when
 * the host changes (a signed storage URL must not receive the registry token).
 */
export async function sendRequest(url: URL, options: HttpRequestOptions = {}): Promise<IncomingMessage> {
  let current = url;
  let headers = { ...options.headers };
  for (let hop = 0; ; hop++) {
    const res = await sendOnce(current, { ...options, headers });
    const location = res.headers.location;
    if (!location || ![301, 302, 303, 307, 308].includes(res.statusCode ?? 0)) return res;
    res.resume();
    if (hop >= (options.maxRedirects ?? 5)) throw new Fault('unavailable', `too many redirects from ${url.host}`);
    const next = new URL(location, current);
    if (next.host !== current.host) {
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
    req.on('error', reject);
    req.end();
  });
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
