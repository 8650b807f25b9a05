/*
 * moby's remotecontext.GetWithStatusError, shared by `remote=` contexts and ADD of a URL: a GET whose transport
 * failure or 4xx/5xx answer becomes a Fault in moby's words, quoting the start of the answer's body.
 */
import { Fault, type FaultKind } from '../../base/fault.ts';
import { goQuote } from './go-format.ts';

/** The part of an error answer's body quoted in the error (moby reads it whole; a server may send anything). */
const errorBodyLimit = 4096;

const statusKinds: Partial<Record<number, FaultKind>> = {
  400: 'invalid-argument',
  401: 'unauthenticated',
  403: 'permission-denied',
  404: 'not-found',
};

/** moby's urlutil.IsURL: an http(s) URL, the scheme as written, lowercase. */
export function isHttpUrl(text: string): boolean {
  return text.startsWith('http://') || text.startsWith('https://');
}

/** The answer of a GET that succeeded with a status below 400; redirects are followed (to http(s) only). */
export async function getWithStatusError(url: string, signal?: AbortSignal): Promise<Response> {
  const response = await fetch(url, { signal, redirect: 'follow' }).catch((err: unknown) => {
    if (signal?.aborted) throw signal.reason;
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    // moby: a DNS failure is not-found, any other a system error.
    const kind: FaultKind = cause?.code === 'ENOTFOUND' ? 'not-found' : 'unavailable';
    throw new Fault(kind, `Get ${goQuote(url)}: ${cause?.message ?? (err as Error).message}`, { cause: err });
  });
  if (response.status < 400) return response;
  const message = `failed to GET ${url} with status ${response.status} ${response.statusText}`.trimEnd();
  const kind = statusKinds[response.status] ?? 'unavailable';
  const body = await readCapped(response).catch(() => undefined);
  throw new Fault(kind, body === undefined ? `${message}: error reading body` : `${message}: ${body.trim()}`);
}

/** The start of an error answer's body; the rest is not read. */
async function readCapped(response: Response): Promise<string> {
  if (!response.body) return '';
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    chunks.push(Buffer.from(chunk));
    length += chunk.length;
    if (length >= errorBodyLimit) break;
  }
  return Buffer.concat(chunks).subarray(0, errorBodyLimit).toString('utf8');
}
