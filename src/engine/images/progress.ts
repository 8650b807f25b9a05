import { Transform, type TransformCallback } from 'node:stream';

/**
 * One message of a JSON progress stream (moby's jsonmessage.JSONMessage), as pull, import and load report.
 * Domain code produces these; the API writes them one per line.
 */
export interface ProgressMessage {
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  progress?: string;
  stream?: string;
  aux?: unknown;
  errorDetail?: { message: string; code?: number };
  error?: string;
}

export type ProgressSink = (message: ProgressMessage) => void;

/** moby's pre-rendered bar: `[=====>        ]  1.2MB/3.4MB`. Only TTY clients draw it, from progressDetail. */
export function progressBar(current: number, total: number): string {
  const width = 50;
  if (total <= 0) return `${humanSize(current)}`;
  const filled = Math.min(width, Math.floor((current / total) * width));
  const bar = `${'='.repeat(Math.max(0, filled - 1))}${filled > 0 ? '>' : ''}${' '.repeat(width - filled)}`;
  return `[${bar}]  ${humanSize(current)}/${humanSize(total)}`;
}

/** go-units HumanSize (decimal, 3 significant digits): `1.23MB`, `512B`. */
export function humanSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${Number(value.toPrecision(3))}${units[unit]}`;
}

export function shortId(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}

/** Counts the bytes flowing through and reports the running total at most every 100 ms (pull and push bars). */
export class ProgressCounter extends Transform {
  #current = 0;
  #last = 0;
  #report: (current: number) => void;

  constructor(report: (current: number) => void) {
    super();
    this.#report = report;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    this.#current += chunk.length;
    const now = Date.now();
    if (now - this.#last >= 100) {
      this.#last = now;
      this.#report(this.#current);
    }
    callback(null, chunk);
  }
}
