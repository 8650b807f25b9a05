import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';

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

  /** An append stream on the build's log; the caller ends it. */
  async append(id: string): Promise<WriteStream> {
    await mkdir(this.#dir, { recursive: true, mode: 0o700 });
    const stream = createWriteStream(this.path(id), { flags: 'a', mode: 0o600 });
    await new Promise<void>((resolve, reject) => stream.once('open', () => resolve()).once('error', reject));
    return stream;
  }

  /** Appends a line to a log no stream holds (a build failed by the stale sweep). */
  async note(id: string, line: string): Promise<void> {
    const stream = await this.append(id);
    await new Promise<void>((resolve, reject) => stream.end(`${line}\n`, () => resolve()).once('error', reject));
  }

  /** The bytes from `offset` (at most 1 MiB) and the offset to ask next; empty when there is nothing (yet). */
  async read(id: string, offset: number): Promise<{ text: Buffer; next: number }> {
    const file = await open(this.path(id), 'r').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (!file) return { text: Buffer.alloc(0), next: offset };
    try {
      // Sized to what is there: a client polling a quiet log costs no megabyte per poll.
      const length = Math.max(0, Math.min(maxReadBytes, (await file.stat()).size - offset));
      const buffer = Buffer.alloc(length);
      const { bytesRead } = length ? await file.read(buffer, 0, length, offset) : { bytesRead: 0 };
      return { text: buffer.subarray(0, bytesRead), next: offset + bytesRead };
    } finally {
      await file.close();
    }
  }

  async remove(ids: string[]): Promise<void> {
    for (const id of ids) await rm(this.path(id), { force: true });
  }
}
