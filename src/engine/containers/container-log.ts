import { closeSync, createReadStream, existsSync, fstatSync, openSync, writeSync } from 'node:fs';
import { createInterface } from 'node:readline';

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

/**
 * A container's log in docker's json-file format (`{"log","stream","time"}` per line). Writes are synchronous
 * appends, so a reader that records the file size and subscribes in the same tick sees every entry exactly
 * once: older ones from the file, newer ones live.
 */
export class ContainerLog {
  readonly path: string;
  #fd: number | undefined;
  #listeners = new Set<LogListener>();
  #partial: Record<LogStream, Buffer> = { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) };

  constructor(path: string) {
    this.path = path;
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
    this.#fd ??= openSync(this.path, 'a', 0o640);
    writeSync(this.#fd, `${JSON.stringify({ log: data.toString('utf8'), stream, time: entry.time })}\n`);
    for (const listener of this.#listeners) listener(entry);
  }

  /** Subscribes to new entries; returns the file size at that instant (entries before it are on disk). */
  follow(listener: LogListener): { offset: number; stop: () => void } {
    this.#listeners.add(listener);
    const offset = this.#fd !== undefined ? fstatSync(this.#fd).size : existsSync(this.path) ? fstatSize(this.path) : 0;
    return { offset, stop: () => this.#listeners.delete(listener) };
  }

  close(): void {
    this.flush();
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }
}

function fstatSize(path: string): number {
  const fd = openSync(path, 'r');
  try {
    return fstatSync(fd).size;
  } finally {
    closeSync(fd);
  }
}

/** Reads entries from a json-file log up to byte `end` (exclusive), keeping the last `tail` when given. */
export async function readLog(path: string, options: { end: number; tail?: number; sinceMs?: number; untilMs?: number }): Promise<LogEntry[]> {
  if (!existsSync(path) || options.end === 0 || options.tail === 0) return [];
  const lines = createInterface({ input: createReadStream(path, { start: 0, end: options.end - 1 }), crlfDelay: Infinity });
  const out: LogEntry[] = [];
  for await (const line of lines) {
    const entry = parseLine(line);
    if (!entry) continue;
    const ms = Date.parse(entry.time);
    if (options.sinceMs !== undefined && ms < options.sinceMs) continue;
    if (options.untilMs !== undefined && ms > options.untilMs) continue;
    out.push(entry);
    if (options.tail !== undefined && out.length > options.tail) out.shift();
  }
  return out;
}

function parseLine(line: string): LogEntry | undefined {
  try {
    const parsed = JSON.parse(line) as { log: string; stream: LogStream; time: string };
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
