import { PassThrough, type Readable, type Writable } from 'node:stream';
import type { ContainerLog, LogStream } from './container-log.ts';
import { defaultDetachKeys, escapeFilter } from './detach-keys.ts';
import type { ContainerProcess } from './runtime.ts';

/** What one attach client may leave unread before it is let go. */
const maxUnreadBytes = 16 * 1024 * 1024;

export interface AttachOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  /** The `detachKeys` query as moby spells it (`ctrl-p,ctrl-q`); moby's default when absent. */
  detachKeys?: string;
}

/** stdcopy framing: [stream, 0, 0, 0, size (big-endian uint32)] then the payload. */
export function frame(stream: 1 | 2 | 3, payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

export interface ClientOptions {
  stdinOnce: boolean;
  /** The escape sequence (moby's ctrl-p ctrl-q when absent). */
  escapeKeys?: Buffer;
  onDetach?: () => void;
}

interface Attachment {
  output: Writable;
  options: AttachOptions;
}

/**
 * A container's standard streams across runs: attached clients (raw with a TTY, stdcopy-framed without), the
 * stdin pipe (buffered until the process starts: the CLI sends stdin right after the 101, before `start`), and
 * the log. Output reaches the log and every attachment from the first byte.
 */
export class ContainerIo {
  #log: ContainerLog;
  #tty: () => boolean;
  #attachments = new Set<Attachment>();
  #stdin: PassThrough | undefined;

  constructor(options: { log: ContainerLog; tty: () => boolean }) {
    this.#log = options.log;
    this.#tty = options.tty;
  }

  get log(): ContainerLog {
    return this.#log;
  }

  /** The stdin pipe of the current (or next) run, created on demand. */
  stdin(): PassThrough {
    if (!this.#stdin || this.#stdin.writableEnded) this.#stdin = new PassThrough();
    return this.#stdin;
  }

  /**
   * Adds a client. Its input feeds stdin when asked; with `stdinOnce` the client's half-close (CloseWrite,
   * the only EOF signal in the protocol) closes the container's stdin. With a TTY the input is watched for the
   * detach keys (moby escapes only TTY input): they end this client's attachment and call `onDetach`.
   * Returns the detach function.
   */
  attach(output: Writable, input: Readable | undefined, options: AttachOptions & ClientOptions): () => void {
    const attachment: Attachment = { output, options };
    this.#attachments.add(attachment);
    const detach = () => this.#attachments.delete(attachment);
    output.once('close', detach);
    output.on('error', detach);
    if (input && options.stdin) this.#feed(input, options, () => {
      detach();
      output.end();
      options.onDetach?.();
    });
    return detach;
  }

  #feed(input: Readable, options: ClientOptions, detach: () => void): void {
    const stdin = this.stdin();
    const escape = this.#tty() ? escapeFilter(options.escapeKeys ?? defaultDetachKeys) : undefined;
    const onData = (chunk: Buffer) => {
      const { forward, detach: detached } = escape ? escape(chunk) : { forward: chunk, detach: false };
      if (forward.length && !stdin.writableEnded) stdin.write(forward);
      if (!detached) return;
      input.off('data', onData).off('end', onEnd);
      detach();
    };
    const onEnd = () => {
      if (options.stdinOnce && !stdin.writableEnded) stdin.end();
    };
    input.on('data', onData).once('end', onEnd);
  }

  /** Wires a started process; resolves once its output streams have ended (all output logged and sent). */
  connect(process: Pick<ContainerProcess, 'stdin' | 'stdout' | 'stderr'>): Promise<void> {
    if (process.stdin) {
      // This run's pipe may already be ended by a client that sent everything before start (StdinOnce): keep
      // it, its data and EOF still flow. Without any client (`run -d -i`) a fresh pipe stays open.
      const stdin = this.#stdin ?? this.stdin();
      stdin.pipe(process.stdin);
      process.stdin.on('error', () => stdin.unpipe());
    }
    const done = [this.#pump('stdout', process.stdout)];
    if (process.stderr) done.push(this.#pump('stderr', process.stderr));
    return Promise.all(done).then(() => this.#log.flush());
  }

  #pump(stream: LogStream, source: Readable): Promise<void> {
    return new Promise((resolve) => {
      source.on('data', (chunk: Buffer) => this.#emit(stream, chunk));
      source.once('end', resolve);
      source.once('close', resolve);
      source.once('error', () => resolve());
    });
  }

  #emit(stream: LogStream, chunk: Buffer): void {
    this.#log.write(stream, chunk);
    const tty = this.#tty();
    for (const attachment of this.#attachments) {
      const { output, options } = attachment;
      if (stream === 'stdout' ? !options.stdout : !options.stderr) continue;
      if (!output.writable) continue;
      // A client that stops reading must not make the engine hold the container's output for it: past the cap
      // it is let go (its connection ends; the log keeps everything for `docker logs`).
      if (output.writableLength > maxUnreadBytes) {
        this.#attachments.delete(attachment);
        output.destroy();
        continue;
      }
      output.write(tty ? chunk : frame(stream === 'stdout' ? 1 : 2, chunk));
    }
  }

  /** Ends every attachment (the CLI waits for this EOF as well as for the wait result) and the stdin pipe. */
  endRun(): void {
    for (const { output } of this.#attachments) if (output.writable) output.end();
    this.#attachments.clear();
    if (this.#stdin && !this.#stdin.writableEnded) this.#stdin.end();
    this.#stdin = undefined;
  }

  /** Reports an error on every attachment as the CLI expects it (stream 3, "systemerr") and ends them. */
  fail(message: string): void {
    const tty = this.#tty();
    for (const { output } of this.#attachments) {
      if (output.writable) output.write(tty ? Buffer.from(`${message}\r\n`) : frame(3, Buffer.from(message)));
    }
    this.endRun();
  }

  get attachmentCount(): number {
    return this.#attachments.size;
  }
}
