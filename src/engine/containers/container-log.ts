import { closeSync, fstatSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { LogSettings } from './log-config.ts';

export type LogStream = 'stdout' | 'stderr';

export interface LogEntry {
  stream: LogStream;
  /** RFC3339Nano, as docker's json-file driver writes it. */
  time: string;
  data: Buffer;
}

export type LogListener = (entry: LogEntry) => void;

/** moby's log copier splits at 16 KiB so one huge line cannot hold everything else back. */
const maxLineBytes = 16 * 1024;

/** The files of a log at one instant, oldest first: open descriptors (a later rotation cannot move them) and their sizes. */
export interface LogSnapshot {
  files: { fd: number; end: number }[];
}

/**
 * A container's log in docker's json-file format (`{"log","stream","time"}` per line), rotated as moby's
 * json-file driver does it: when the file has reached `maxSize`, `<path>.1`… shift up (`maxFile` files in all)
 * and a new file starts; with one file it starts over. The `none` driver keeps nothing, so it cannot be read.
 * Writes are synchronous appends, so a reader that takes a snapshot and subscribes in the same tick sees every
 * entry exactly once: older ones from the files, newer ones live.
 */
export class ContainerLog {
  readonly path: string;
  readonly settings: LogSettings;
  #fd: number | undefined;
  #size = 0;
  #listeners = new Set<LogListener>();
  #partial: Record<LogStream, Buffer> = { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) };

  constructor(path: string, settings: LogSettings = { driver: 'json-file', maxSize: -1, maxFile: 1 }) {
    this.path = path;
    this.settings = settings;
  }

  get readable(): boolean {
    return this.settings.driver !== 'none';
  }

  /** Appends output, one entry per line (a trailing partial line waits for more or for `flush`). */
  write(stream: LogStream, chunk: Buffer): void {
    let data = this.#partial[stream].length ? Buffer.concat([this.#partial[stream], chunk]) : chunk;
    for (let nl = data.indexOf(10); nl >= 0 || data.length >= maxLineBytes; nl = data.indexOf(10)) {
      const end = nl >= 0 && nl < maxLineBytes ? nl + 1 : maxLineBytes;
      this.#append(stream, data.subarray(0, end));
      data = data.subarray(end);
    }
    this.#partial[stream] = Buffer.from(data);
  }

  /** Writes out partial lines (at exit). */
  flush(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.#partial[stream].length) this.#append(stream, this.#partial[stream]);
      this.#partial[stream] = Buffer.alloc(0);
    }
  }

  #append(stream: LogStream, data: Buffer): void {
    const entry: LogEntry = { stream, time: nowNano(), data };
    if (this.readable) this.#store(`${JSON.stringify({ log: data.toString('utf8'), stream, time: entry.time })}\n`);
    for (const listener of this.#listeners) listener(entry);
  }

  #store(line: string): void {
    if (this.#fd === undefined) {
      mkdirSync(dirname(this.path), { recursive: true });
      this.#fd = openSync(this.path, 'a', 0o640);
      this.#size = fstatSync(this.#fd).size;
    }
    // moby checks the capacity before each write, so a file may end one entry past max-size.
    if (this.settings.maxSize > 0 && this.#size >= this.settings.maxSize) this.#rotate();
    this.#size += writeSync(this.#fd!, line);
  }

  #rotate(): void {
    closeSync(this.#fd!);
    const { maxFile } = this.settings;
    if (maxFile >= 2) {
      rmSync(`${this.path}.${maxFile - 1}`, { force: true });
      for (let i = maxFile - 1; i > 1; i--) renameIfExists(`${this.path}.${i - 1}`, `${this.path}.${i}`);
      renameIfExists(this.path, `${this.path}.1`);
    }
    this.#fd = openSync(this.path, 'w', 0o640);
    this.#size = 0;
  }

  /** Subscribes to new entries; the snapshot holds every entry before that instant. The caller reads it once. */
  follow(listener: LogListener): { snapshot: LogSnapshot; stop: () => void } {
    this.#listeners.add(listener);
    return { snapshot: this.#snapshot(), stop: () => this.#listeners.delete(listener) };
  }

  #snapshot(): LogSnapshot {
    if (!this.readable) return { files: [] };
    const names = [];
    for (let i = this.settings.maxFile - 1; i >= 1; i--) names.push(`${this.path}.${i}`);
    names.push(this.path);
    const files = [];
    for (const name of names) {
      const fd = openIfExists(name);
      if (fd !== undefined) files.push({ fd, end: fstatSync(fd).size });
    }
    return { files };
  }

  close(): void {
    this.flush();
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }
}

function renameIfExists(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

function openIfExists(path: string): number | undefined {
  try {
    return openSync(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Now as RFC3339 with nanoseconds (sub-millisecond digits from the high-resolution clock). */
export function nowNano(): string {
  const ms = Date.now();
  const sub = Number(process.hrtime.bigint() % 1_000_000n)
    .toString()
    .padStart(6, '0');
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, `.$1${sub}Z`);
}
