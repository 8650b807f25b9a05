import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type Readable, Writable } from 'node:stream';

/** The most a log read answers at once; the client asks again from `next`. */
const maxReadBytes = 1024 * 1024;
const idPattern = /^[0-9a-f]{16}$/;

/** Each build's whole output, `<root>/hub/builds/<id>.log`, appended while it runs and kept after. */
export class BuildLogs {
  readonly #dir: string;

  constructor(root: string) {
    this.#dir = join(root, 'hub', 'builds');
  }

  path(id: string): string {
    // Ids come from the store (16 hex); anything else never names a file.
    if (!idPattern.test(id)) throw new Error(`not a build id: ${id}`);
    return join(this.#dir, `${id}.log`);
  }

  /**
   * An append stream on the build's log that takes at most `maxBytes` (calling `onLimit` once it is reached, and
   * dropping what follows but `force`d lines); the caller ends it.
   */
  async append(id: string, maxBytes = Number.POSITIVE_INFINITY, onLimit: () => void = () => {}): Promise<BuildLog> {
    return new BuildLog(await this.#open(id), maxBytes, onLimit);
  }

  async #open(id: string): Promise<WriteStream> {
    await mkdir(this.#dir, { recursive: true, mode: 0o700 });
    const stream = createWriteStream(this.path(id), { flags: 'a', mode: 0o600 });
    await new Promise<void>((resolve, reject) => stream.once('open', () => resolve()).once('error', reject));
    return stream;
  }

  /** Appends a line to a log no stream holds (a build failed by the stale sweep). */
  async note(id: string, line: string): Promise<void> {
    const stream = await this.#open(id);
    await new Promise<void>((resolve, reject) => stream.end(`${line}\n`, () => resolve()).once('error', reject));
  }

  /**
   * The bytes from `offset` (at most 1 MiB) as a stream, and the offset to ask next; empty when there is nothing
   * (yet). Sized to what is there when asked: a client polling a quiet log costs nothing.
   */
  async read(id: string, offset: number): Promise<{ stream: Readable | undefined; next: number }> {
    const size = await stat(this.path(id)).then((s) => s.size, (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return 0;
      throw err;
    });
    const length = Math.max(0, Math.min(maxReadBytes, size - offset));
    if (length === 0) return { stream: undefined, next: offset };
    return { stream: createReadStream(this.path(id), { start: offset, end: offset + length - 1 }), next: offset + length };
  }

  async remove(ids: string[]): Promise<void> {
    for (const id of ids) await rm(this.path(id), { force: true });
  }
}

/** A build's log as the runner writes it: capped, with `force` for the line that says how the build ended. */
export class BuildLog extends Writable {
  readonly #file: WriteStream;
  readonly #onLimit: () => void;
  /** Chunks written past the cap, in order with the others. */
  readonly #forced = new WeakSet<Buffer>();
  #left: number;

  constructor(file: WriteStream, maxBytes: number, onLimit: () => void) {
    super({ decodeStrings: true });
    this.#file = file;
    this.#left = maxBytes;
    this.#onLimit = onLimit;
    file.once('error', (err) => this.destroy(err));
  }

  /** Appends `text` even past the cap (after what was written before). */
  force(text: string): void {
    if (this.destroyed || this.writableEnded) return;
    const chunk = Buffer.from(text);
    this.#forced.add(chunk);
    this.write(chunk);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    if (this.#forced.has(chunk)) return void this.#file.write(chunk, (err) => done(err));
    if (this.#left <= 0) return done();
    const kept = chunk.length > this.#left ? chunk.subarray(0, this.#left) : chunk;
    this.#left -= kept.length;
    if (this.#left <= 0) this.#onLimit();
    this.#file.write(kept, (err) => done(err));
  }

  override _final(done: (err?: Error | null) => void): void {
    this.#file.end(() => done());
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.#file.destroy();
    done(err);
  }
}
