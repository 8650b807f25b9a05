import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileDurably } from './durable-file.ts';

export interface RecordFilesOptions<T> {
  /** The file name of a record, without `.json`; it must match `keyPattern`, which keeps it a plain file name. */
  keyOf: (record: T) => string;
  keyPattern: RegExp;
}

/**
 * Records on disk, one JSON file a record (`<dir>/<key>.json`), each replaced with write + fsync + rename, so a
 * crash leaves the old record or the new one, never half of one. A record exists once its file does. Files whose
 * name is not a valid key (an editor's backup, a stray temp file) are not records.
 */
export class RecordFiles<T> {
  #dir: string;
  #options: RecordFilesOptions<T>;

  constructor(dir: string, options: RecordFilesOptions<T>) {
    this.#dir = dir;
    this.#options = options;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  load(): T[] {
    const out: T[] = [];
    for (const file of readdirSync(this.#dir)) {
      if (!file.endsWith('.json') || !this.#options.keyPattern.test(file.slice(0, -'.json'.length))) continue;
      out.push(JSON.parse(readFileSync(join(this.#dir, file), 'utf8')) as T);
    }
    return out;
  }

  save(record: T): void {
    writeFileDurably(this.#file(this.#options.keyOf(record)), JSON.stringify(record));
  }

  delete(key: string): void {
    if (this.#options.keyPattern.test(key)) rmSync(this.#file(key), { force: true });
  }

  #file(key: string): string {
    if (!this.#options.keyPattern.test(key)) throw new Error(`not a record key: ${key}`);
    return join(this.#dir, `${key}.json`);
  }
}
