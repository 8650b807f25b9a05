/*
 * Reading a json-file log as `docker logs` and the attach replay send it: a byte stream of stdcopy frames (raw
 * with a TTY), built a file chunk at a time. Each 64 KiB chunk becomes one buffer of encoded entries, and the
 * next chunk is read only when the consumer asks for more (Readable's read()), so a log of any size costs a few
 * chunks of memory, whatever the client's speed.
 */
import { closeSync, read } from 'node:fs';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { frame } from './container-io.ts';
import type { LogEntry, LogSnapshot, LogStream } from './container-log.ts';

export interface ReadOptions {
  tail?: number;
  sinceMs?: number;
  untilMs?: number;
}

/** Which entries a client gets and how: stdcopy frames unless `tty`, each prefixed with its time when `timestamps`. */
export interface LogEncoding {
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
  timestamps: boolean;
}

/** Bytes read at once, forwards and backwards: a log is never held whole, however large. */
const chunkBytes = 64 * 1024;

const readAt = promisify(read);

type LogFile = LogSnapshot['files'][number];

/** One decoded line of the file: the `log` text stays a string until it is written into a batch. */
interface RawEntry {
  log: string;
  stream: LogStream;
  time: string;
}

/**
 * Streams a snapshot's entries across its files in order, encoded, and closes its files when it closes. As
 * moby's json-file reader (loggerutils tailFiles): `tail` picks the last lines of the files without reading the
 * rest, then `since` skips and `until` ends.
 */
export function readLog(snapshot: LogSnapshot, options: ReadOptions, encoding: LogEncoding): Readable {
  const lines = new LineChunks(snapshot.files, options.tail);
  // `more`: the consumer asked for data (read()) and has not had it yet; `reading`: a pump is under way.
  let more = false;
  let reading = false;
  const stream = new Readable({
    highWaterMark: chunkBytes,
    read() {
      more = true;
      if (!reading) void pump();
    },
    // On destroy, not at the end of the reading: a stream destroyed before its first read never reads.
    destroy(err, callback) {
      for (const file of snapshot.files) closeSync(file.fd);
      callback(err);
    },
  });
  /** Reads and pushes one chunk's entries; answers whether the consumer wants more (push's answer). */
  const step = async (): Promise<boolean> => {
    const next = await lines.next();
    if (stream.destroyed) return false;
    if (!next) {
      stream.push(null);
      return false;
    }
    const { batch, ended } = encodeBatch(decodeLines(next), options, encoding);
    const wantsMore = batch.length ? stream.push(batch) : true;
    if (ended) stream.push(null);
    return wantsMore && !ended;
  };
  const pump = async (): Promise<void> => {
    reading = true;
    while (more && !stream.destroyed) {
      more = false;
      try {
        more = await step();
      } catch (err) {
        stream.destroy(err as Error);
      }
    }
    reading = false;
  };
  return stream;
}

/** The whole lines of a snapshot's files, oldest first from where the tail begins, a chunk at a time. */
class LineChunks {
  #files: LogFile[];
  #tail: number | undefined;
  // One buffer for the whole read: a chunk's lines are encoded before the next read.
  #chunk = Buffer.allocUnsafe(chunkBytes);
  #at: { index: number; offset: number } | undefined;
  #rest = Buffer.alloc(0);

  constructor(files: LogFile[], tail: number | undefined) {
    this.#files = files;
    this.#tail = tail;
  }

  /** The next run of whole lines (it may be empty), or undefined past the last file. */
  async next(): Promise<Buffer | undefined> {
    this.#at ??= this.#tail === undefined ? { index: 0, offset: 0 } : await tailStart(this.#files, this.#tail);
    const at = this.#at;
    const file = this.#files[at.index];
    if (!file) return undefined;
    const want = Math.min(this.#chunk.length, file.end - at.offset);
    const { bytesRead } = want > 0 ? await readAt(file.fd, this.#chunk, 0, want, at.offset) : { bytesRead: 0 };
    if (bytesRead === 0) {
      // The file's last line may lack its newline (a snapshot taken mid-write cannot, but a foreign file may).
      const last = this.#rest;
      this.#rest = Buffer.alloc(0);
      this.#at = { index: at.index + 1, offset: 0 };
      return last;
    }
    at.offset += bytesRead;
    const data = this.#rest.length ? Buffer.concat([this.#rest, this.#chunk.subarray(0, bytesRead)]) : this.#chunk.subarray(0, bytesRead);
    const cut = data.lastIndexOf(10) + 1;
    this.#rest = Buffer.from(data.subarray(cut));
    return data.subarray(0, cut);
  }
}

/**
 * The entries of whole lines, parsed in one JSON.parse of the lot (a line of a json-file log is a JSON object
 * with no raw newline in it); a batch with a damaged line is parsed line by line and the damaged one skipped.
 */
function decodeLines(lines: Buffer): RawEntry[] {
  if (!lines.length) return [];
  const text = lines.toString('utf8', 0, lines[lines.length - 1] === 10 ? lines.length - 1 : lines.length);
  try {
    return JSON.parse(`[${text.replaceAll('\n', ',')}]`) as RawEntry[];
  } catch {
    const entries: RawEntry[] = [];
    for (const line of text.split('\n')) {
      try {
        entries.push(JSON.parse(line) as RawEntry);
      } catch {
        // moby's decoder skips what it cannot read, too
      }
    }
    return entries;
  }
}

/** Filters and encodes a chunk's entries into one buffer; `ended` when an entry lies past `until`. */
function encodeBatch(entries: RawEntry[], options: ReadOptions, encoding: LogEncoding): { batch: Buffer; ended: boolean } {
  let ended = false;
  const kept: RawEntry[] = [];
  for (const entry of entries) {
    if (!(entry.stream === 'stderr' ? encoding.stderr : encoding.stdout)) continue;
    if (options.sinceMs !== undefined || options.untilMs !== undefined) {
      const ms = Date.parse(entry.time);
      if (options.untilMs !== undefined && ms > options.untilMs) {
        ended = true;
        break;
      }
      if (options.sinceMs !== undefined && ms < options.sinceMs) continue;
    }
    kept.push(entry);
  }
  let size = 0;
  for (const entry of kept) size += entrySize(entry, encoding);
  const batch = Buffer.allocUnsafe(size);
  let offset = 0;
  for (const entry of kept) offset = writeEntry(batch, offset, entry, encoding);
  return { batch, ended };
}

function entrySize(entry: RawEntry, encoding: LogEncoding): number {
  const stamp = encoding.timestamps ? trimNanos(entry.time).length + 1 : 0;
  return (encoding.tty ? 0 : 8) + stamp + Buffer.byteLength(entry.log, 'utf8');
}

/** Writes one entry at `offset` (its frame header, its time, its text) and returns where the next one goes. */
function writeEntry(into: Buffer, offset: number, entry: RawEntry, encoding: LogEncoding): number {
  let at = offset;
  if (!encoding.tty) {
    into[at] = entry.stream === 'stderr' ? 2 : 1;
    into.fill(0, at + 1, at + 4);
    at += 8;
  }
  if (encoding.timestamps) at += into.write(`${trimNanos(entry.time)} `, at, 'latin1');
  at += into.write(entry.log, at, 'utf8');
  if (!encoding.tty) into.writeUInt32BE(at - offset - 8, offset + 4);
  return at;
}

/** A live entry (from a follower) encoded as the reader encodes the stored ones. */
export function encodeEntry(entry: LogEntry, encoding: LogEncoding): Buffer | undefined {
  if (!(entry.stream === 'stderr' ? encoding.stderr : encoding.stdout)) return undefined;
  const stamp = encoding.timestamps ? Buffer.from(`${trimNanos(entry.time)} `) : Buffer.alloc(0);
  const payload = Buffer.concat([stamp, entry.data]);
  return encoding.tty ? payload : frame(entry.stream === 'stderr' ? 2 : 1, payload);
}

/** Go's RFC3339Nano drops trailing zeros of the fraction. */
function trimNanos(time: string): string {
  return time.replace(/\.(\d*?)0+Z$/, (_m, digits: string) => (digits ? `.${digits}Z` : 'Z'));
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
