/*
 * `POST /build?remote=…` as moby's builder/remotecontext detects it: a git URL is cloned; an http(s) URL is
 * downloaded, and its body is a context archive (any compression) or, when it is text, the Dockerfile of an otherwise
 * empty context. The kind is told by the Content-Type, or by the first bytes when the server sent none or
 * application/octet-stream (moby's inspectResponse). Bodies stream with back-pressure straight to tar or the file.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Fault, isFault } from '../../base/fault.ts';
import { extractContextTar } from './context-tar.ts';
import { cloneGitContext } from './git-context.ts';
import { getWithStatusError, isHttpUrl } from './http-get.ts';
import { sniffContentType } from './sniff-content-type.ts';

export interface RemoteContext {
  dir: string;
  /** Set when the URL answered with a Dockerfile alone (kept outside the empty context). */
  dockerfile?: string;
}

/** How many first bytes tell a body's kind (moby's maxPreambleLength). */
const preambleLength = 100;
/** A Dockerfile is read whole by the parser: one beyond reason is refused, downloaded or in a context. */
export const maxDockerfileBytes = 16 * 1024 * 1024;

const acceptableMime = /application\/(?:(?:x-)?tar|octet-stream|(?:(?:x-)?(?:gzip|bzip2?|xz)))|text\/plain/;

/** moby's urlutil.IsGitURL: an http(s) URL whose path ends in `.git` (before a fragment), git://, git@, github.com/. */
export function isGitUrl(remote: string): boolean {
  if (isHttpUrl(remote) && /\.git(?:#.+)?$/.test(remote)) return true;
  return ['git://', 'github.com/', 'git@'].some((prefix) => remote.startsWith(prefix));
}

/** Fetches `remote` into directories under `top` (which the caller removes). */
export async function openRemoteContext(remote: string, top: string, signal?: AbortSignal): Promise<RemoteContext> {
  if (remote === 'client-session') {
    throw new Fault('invalid-argument', 'experimental session with v1 builder is no longer supported, use builder version v2 (BuildKit) instead');
  }
  if (isGitUrl(remote)) return gitContext(remote, top, signal);
  if (isHttpUrl(remote)) return downloadContext(remote, top, signal);
  throw new Fault('invalid-argument', `remoteURL (${remote}) could not be recognized as URL`);
}

/** The checkout (or its `#ref:subdir`) becomes `top/context`, as moby tars it; the rest of the clone goes. */
async function gitContext(remote: string, top: string, signal?: AbortSignal): Promise<RemoteContext> {
  const clone = join(top, 'git');
  const dir = join(top, 'context');
  await rename(await cloneGitContext(remote, clone, signal), dir);
  await rm(clone, { recursive: true, force: true });
  return { dir };
}

async function downloadContext(url: string, top: string, signal?: AbortSignal): Promise<RemoteContext> {
  const response = await download(url, signal);
  const reader = response.body?.getReader();
  const first = reader ? await reader.read() : { done: true as const, value: undefined };
  if (first.done || !first.value.length) {
    await reader?.cancel().catch(() => undefined);
    throw new Fault('invalid-argument', `error detecting content type for remote ${url}: empty response`);
  }
  const declared = response.headers.get('content-type') ?? '';
  const kind = contentKind(declared, first.value.subarray(0, preambleLength));
  if (!kind) {
    await reader!.cancel().catch(() => undefined);
    throw new Fault('invalid-argument', `error detecting content type for remote ${url}: unsupported Content-Type "${declared}"`);
  }
  const body = Readable.from(rest(first.value, reader!), { objectMode: false });
  const dir = join(top, 'context');
  if (kind === 'text/plain') {
    await mkdir(dir, { mode: 0o700 });
    const dockerfile = join(top, 'Dockerfile');
    await pipeline(body, byteLimit(maxDockerfileBytes, url), createWriteStream(dockerfile, { mode: 0o600 }), signal ? { signal } : {});
    return { dir, dockerfile };
  }
  await extractContextTar(body, dir, signal);
  return { dir };
}

/** The acceptable media type the response is, or undefined (moby's inspectResponse and selectAcceptableMIME). */
function contentKind(declared: string, preamble: Uint8Array): string | undefined {
  const type = declared === '' || declared === 'application/octet-stream' ? sniffContentType(preamble) : declared;
  return acceptableMime.exec(type)?.[0];
}

/** The first chunk again, then the rest of the body as the consumer pulls it; the download stops when it stops. */
async function* rest(first: Uint8Array, reader: ReadableStreamDefaultReader<Uint8Array>): AsyncGenerator<Buffer> {
  let finished = false;
  try {
    yield Buffer.from(first.buffer, first.byteOffset, first.byteLength);
    for (let next = await reader.read(); !next.done; next = await reader.read()) yield Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
    finished = true;
  } finally {
    if (!finished) await reader.cancel().catch(() => undefined);
  }
}

function byteLimit(limit: number, url: string): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      if (seen > limit) return done(new Fault('too-large', `the Dockerfile at ${url} is larger than ${limit} bytes`));
      done(null, chunk);
    },
  });
}

/** moby's GetWithStatusError, its error prefixed as moby's remote detection words it. */
async function download(url: string, signal?: AbortSignal): Promise<Response> {
  try {
    return await getWithStatusError(url, signal);
  } catch (err) {
    throw isFault(err) ? new Fault(err.kind, `error downloading remote context ${url}: ${err.message}`, { cause: err }) : err;
  }
}
