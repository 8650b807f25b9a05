import { closeSync, fstatSync, mkdirSync, openSync, read, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
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

export interface ReadOptions {
  tail?: number;
  sinceMs?: number;
  untilMs?: number;
}

/** Bytes read at once, forwards and backwards: a log is never held whole, however large. */
const chunkBytes = 64 * 1024;

const readAt = promisify(read);

/**
 * Streams a snapshot's entries across its files in order (an object-mode Readable of `LogEntry`) and closes its
 * files when it closes. As moby's json-file reader (loggerutils tailFiles): `tail` picks the last lines of the
 * files without reading the rest, then `since` skips and `until` ends.
 */
export function readLog(snapshot: LogSnapshot, options: ReadOptions): Readable {
  const entries = Readable.from(snapshotEntries(snapshot.files, options), { objectMode: true });
  // On close, not in the generator's finally: a generator destroyed before its first step never runs that.
  return entries.once('close', () => {
    for (const file of snapshot.files) closeSync(file.fd);
  });
}

async function* snapshotEntries(files: LogFile[], options: ReadOptions): AsyncGenerator<LogEntry> {
  const start = options.tail === undefined ? { index: 0, offset: 0 } : await tailStart(files, options.tail);
  for (let i = start.index; i < files.length; i++) {
    for await (const line of fileLines(files[i], i === start.index ? start.offset : 0)) {
      const entry = parseLine(line);
      if (!entry) continue;
      const ms = Date.parse(entry.time);
      if (options.untilMs !== undefined && ms > options.untilMs) return;
      if (options.sinceMs === undefined || ms >= options.sinceMs) yield entry;
    }
  }
}

type LogFile = LogSnapshot['files'][number];

/** The lines of a file from `offset` to its snapshot end, read a chunk at a time. */
async function* fileLines(file: LogFile, offset: number): AsyncGenerator<Buffer> {
  let rest = Buffer.alloc(0);
  // One buffer for the whole file: each line is parsed before the next read, and fresh 64 KiB buffers per read
  // are memory V8 does not count, so it would collect them late.
  const chunk = Buffer.allocUnsafe(Math.min(chunkBytes, Math.max(1, file.end - offset)));
  for (let at = offset; at < file.end; ) {
    const { bytesRead } = await readAt(file.fd, chunk, 0, Math.min(chunk.length, file.end - at), at);
    if (bytesRead === 0) break;
    at += bytesRead;
    let data = rest.length ? Buffer.concat([rest, chunk.subarray(0, bytesRead)]) : chunk.subarray(0, bytesRead);
    for (let nl = data.indexOf(10); nl >= 0; nl = data.indexOf(10)) {
      yield data.subarray(0, nl);
      data = data.subarray(nl + 1);
    }
    rest = Buffer.from(data);
  }
  if (rest.length) yield rest;
}

/**
 * Where the last `count` lines of the files begin, found by reading backwards a chunk at a time from the end of
 * the newest file (moby's tailfile does the same), so a tail costs the tail, not the log.
 */
async function tailStart(files: LogFile[], count: number): Promise<{ index: number; offset: number }> {
  if (count === 0) return { index: files.length, offset: 0 };
  let left = count;
  for (let index = files.length - 1; index >= 0; index--) {
    const found = await lineStartFromEnd(files[index], left);
    if (found.offset !== undefined) return { index, offset: found.offset };
    left -= found.lines;
  }
  return { index: 0, offset: 0 };
}

/** The offset of the `count`th line from a file's end, or how many lines the file holds when it has fewer. */
async function lineStartFromEnd(file: LogFile, count: number): Promise<{ offset?: number; lines: number }> {
  if (file.end === 0) return { lines: 0 };
  const chunk = Buffer.allocUnsafe(Math.min(chunkBytes, file.end));
  let lines = 0;
  for (let to = file.end; to > 0; ) {
    const from = Math.max(0, to - chunk.length);
    const { bytesRead } = await readAt(file.fd, chunk, 0, to - from, from);
    // A newline starts a line after it, except the one that ends the file.
    for (let i = bytesRead - 1; i >= 0; i--) {
      if (chunk[i] !== 10 || from + i === file.end - 1) continue;
      if (++lines === count) return { offset: from + i + 1, lines };
    }
    to = from;
  }
  // The file's first line starts at 0.
  return ++lines === count ? { offset: 0, lines } : { lines };
}

function parseLine(line: Buffer): LogEntry | undefined {
  try {
    const parsed = JSON.parse(line.toString('utf8')) as { log: string; stream: LogStream; time: string };
    return { stream: parsed.stream, time: parsed.time, data: Buffer.from(parsed.log, 'utf8') };
  } catch {
    return undefined;
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
