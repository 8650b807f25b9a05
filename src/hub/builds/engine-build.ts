import { request, type IncomingMessage } from 'node:http';
import { Transform, type Readable, type Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import { Fault } from '../../base/fault.ts';
import { jsonOrUndefined } from '../../base/json.ts';

/** The Engine API version the build is asked under (the engine advertises 1.44). */
const apiVersion = 'v1.44';
const maxLineBytes = 1024 * 1024;
const maxErrorBodyBytes = 64 * 1024;

export interface EngineBuildOptions {
  /** The engine's unix socket (`engine.socket`). */
  socket: string;
  /** The build context, a tar stream. */
  context: Readable;
  /** Relative to the context, as `docker build -f`. */
  dockerfile: string;
  /** The engine-side tags (`-t`). */
  tags: string[];
  /** Where the build's output goes as text (not ended here). */
  log: Writable;
  signal?: AbortSignal;
}

// The classic builder's JSON lines (moby's jsonmessage.JSONMessage), the fields read here.
const messageSchema = z.object({
  stream: z.string().optional(),
  status: z.string().optional(),
  id: z.string().optional(),
  progressDetail: z.object({ current: z.number().optional() }).passthrough().optional(),
  aux: z.object({ ID: z.string().optional() }).passthrough().optional(),
  error: z.string().optional(),
  errorDetail: z.object({ message: z.string().optional() }).passthrough().optional(),
});

/**
 * `POST /build` on the engine, as `docker build --pull -f DOCKERFILE -t TAG -` sends it (the classic builder,
 * intermediate containers removed): the context streams in, the JSON-lines answer streams out to `log` as the CLI
 * prints it. Answers the built image's ID (the last `aux` message); an `error`/`errorDetail` message fails the build.
 * `pull=1`: every base image (FROM, COPY --from) is pulled from its registry with no credentials, under that
 * registry's access rules, never taken from the engine's store, where another repository's private image may be.
 */
export async function buildOnEngine(options: EngineBuildOptions): Promise<string> {
  const query = new URLSearchParams({ dockerfile: options.dockerfile, rm: '1', forcerm: '1', pull: '1', version: '1' });
  for (const tag of options.tags) query.append('t', tag);
  const req = request({
    socketPath: options.socket,
    method: 'POST',
    path: `/${apiVersion}/build?${query}`,
    headers: { 'content-type': 'application/x-tar', 'transfer-encoding': 'chunked' },
    signal: options.signal,
  });
  const answered = new Promise<IncomingMessage>((resolve, reject) => {
    req.once('response', resolve);
    req.once('error', reject);
  });
  // The engine may answer (an error) before it read the whole context: the upload's failure is then not the cause.
  const sent = pipeline(options.context, req).catch((err: unknown) => err);
  const res = await answered.catch((err: unknown) => {
    throw unreachable(options.socket, err);
  });
  if (res.statusCode !== 200) throw await engineError(res);
  const result = new BuildResult();
  await pipeline(res, new JsonLines(), result.renderer(), options.log, { end: false }).catch((err: unknown) => {
    if (options.signal?.aborted || !brokeOff(err)) throw err;
    // The answer broke off: the engine stopped (or crashed) while it built.
    throw new Fault('unavailable', `the engine stopped during the build (${(err as Error).message})`, { cause: err });
  });
  const uploadError = await sent;
  if (result.error) throw new Fault('failed-precondition', result.error);
  if (uploadError) throw new Fault('unavailable', `sending the build context failed: ${(uploadError as Error).message}`, { cause: uploadError });
  if (!result.imageId) throw new Fault('internal', 'the engine ended the build without an image ID');
  return result.imageId;
}

/** A response that ended before its end (the connection reset or closed), not a failure of the log or a message. */
function brokeOff(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || (err as Error).message === 'aborted';
}

function unreachable(socket: string, err: unknown): Fault {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ECONNREFUSED') return new Fault('unavailable', `no engine reachable at ${socket} (${code}): builds need the engine (engine.enabled, runc)`, { cause: err });
  return new Fault('unavailable', `the engine at ${socket} failed: ${(err as Error).message}`, { cause: err });
}

async function engineError(res: IncomingMessage): Promise<Fault> {
  let body = '';
  for await (const chunk of res) {
    if (body.length < maxErrorBodyBytes) body += String(chunk);
  }
  const message = z.object({ message: z.string() }).safeParse(jsonOrUndefined(body));
  return new Fault('failed-precondition', `the engine refused the build (${res.statusCode}): ${message.success ? message.data.message : body.slice(0, 500)}`);
}

/** What the build's messages said: the image ID and the error, if any. */
class BuildResult {
  imageId: string | undefined;
  error: string | undefined;

  /** Each message as the docker CLI prints it (progress updates left out: a log is not a terminal). */
  renderer(): Transform {
    return new Transform({
      readableObjectMode: false,
      writableObjectMode: true,
      transform: (line: string, _encoding, done) => done(null, this.#render(line)),
    });
  }

  #render(line: string): string {
    const parsed = messageSchema.safeParse(jsonOrUndefined(line));
    if (!parsed.success) return `${line}\n`;
    const m = parsed.data;
    if (m.aux?.ID) this.imageId = m.aux.ID;
    const error = m.errorDetail?.message ?? m.error;
    if (error !== undefined) {
      this.error = error;
      return `ERROR: ${error}\n`;
    }
    if (m.stream !== undefined) return m.stream;
    if (m.status !== undefined && m.progressDetail?.current === undefined) return `${m.id ? `${m.id}: ` : ''}${m.status}\n`;
    return '';
  }
}

/** Splits a byte stream into lines (objects), each bounded. */
class JsonLines extends Transform {
  #rest = '';
  readonly #decoder = new StringDecoder('utf8');

  constructor() {
    super({ readableObjectMode: true });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    const lines = (this.#rest + this.#decoder.write(chunk)).split('\n');
    this.#rest = lines.pop() ?? '';
    if (this.#rest.length > maxLineBytes) return done(new Fault('failed-precondition', 'the engine sent a message over 1 MiB'));
    for (const line of lines) if (line.trim()) this.push(line.trim());
    done();
  }

  override _flush(done: (err?: Error | null) => void): void {
    const rest = (this.#rest + this.#decoder.end()).trim();
    if (rest) this.push(rest);
    done();
  }
}

/**
 * `DELETE /images/NAME?noprune=1`, as `docker rmi --no-prune NAME`: removes the build's throwaway tag (the image
 * goes with it when nothing else names it; its blobs stay while the registry links them; its parents, the
 * build cache, stay). Gone already is fine.
 */
export async function removeEngineTag(socket: string, name: string): Promise<void> {
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = request({ socketPath: socket, method: 'DELETE', path: `/${apiVersion}/images/${name}?noprune=1`, timeout: 30_000 }, resolve);
    req.once('timeout', () => req.destroy(new Error('the engine did not answer in 30 s')));
    req.once('error', reject);
    req.end();
  });
  if (res.statusCode === 200 || res.statusCode === 404) return void res.resume();
  throw await engineError(res);
}

/** Whether the engine answers `GET /_ping` on its socket (within 2 s). */
export function pingEngine(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath: socket, method: 'GET', path: '/_ping', timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(false));
    req.end();
  });
}
