import type { ServerResponse } from 'node:http';
import { renderError } from './api-errors.ts';

/**
 * A JSON-lines response (pull, import, events): headers go out on the first message, or at once with
 * `start()` for long polls whose client blocks on them. An error before the first byte is still a plain HTTP
 * error (the caller throws); after it, moby's in-band `errorDetail`, the only error field the CLI acts on.
 */
export class JsonStream {
  #res: ServerResponse;

  constructor(res: ServerResponse) {
    this.#res = res;
  }

  get started(): boolean {
    return this.#res.headersSent;
  }

  start(): void {
    if (this.#res.headersSent) return;
    this.#res.writeHead(200, { 'Content-Type': 'application/json' });
    this.#res.flushHeaders();
  }

  write(message: unknown): void {
    this.start();
    if (this.#res.writable) this.#res.write(`${JSON.stringify(message)}\r\n`);
  }

  /** Reports `err` in-band; returns false when nothing was written yet (the caller renders an HTTP error). */
  fail(err: unknown): boolean {
    if (!this.started) return false;
    const { message } = renderError(err);
    this.write({ errorDetail: { message }, error: message });
    return true;
  }

  end(): void {
    this.start();
    this.#res.end();
  }
}

/**
 * Runs `work` with a JSON progress stream on `res` (pull, import, push, load, build): an error before the first
 * message is thrown, so the caller answers it as a plain HTTP error; after it, it is reported in-band.
 */
export async function streamProgress(res: ServerResponse, work: (stream: JsonStream) => Promise<unknown>): Promise<'streamed'> {
  const stream = new JsonStream(res);
  try {
    await work(stream);
  } catch (err) {
    if (!stream.fail(err)) throw err;
  }
  stream.end();
  return 'streamed';
}
