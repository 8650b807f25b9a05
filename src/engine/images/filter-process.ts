import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { Duplex, type Readable, type Writable } from 'node:stream';
import { Fault } from '../../base/fault.ts';

export interface FilterProcessOptions {
  /** How errors name the tool (`bzip2`, `tar`). */
  name: string;
  /** Exit statuses that mean success (GNU tar's 1 is "a file changed as we read it"). */
  okCodes?: readonly number[];
  /** The kind of a failure the tool reports by its exit status: bad input by default. */
  failure?: 'invalid-argument' | 'unavailable';
}

/**
 * A child process as a Duplex: what is written goes to its stdin, its stdout is what is read, and its exit status
 * (with the end of its stderr) becomes the stream's error, so a pipeline owns the tool like any transform. The
 * child is killed when the stream is destroyed early.
 */
export class FilterProcess extends Duplex {
  #child: ChildProcessByStdio<Writable, Readable, Readable>;
  #options: FilterProcessOptions;
  #stderr = '';
  #exited = false;
  #pendingWrite: (() => void) | undefined;

  constructor(file: string, args: readonly string[], options: FilterProcessOptions) {
    super();
    this.#options = options;
    this.#child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const { stdin, stdout, stderr } = this.#child;
    stdout.on('data', (chunk: Buffer) => this.push(chunk) || stdout.pause());
    stderr.setEncoding('utf8').on('data', (text: string) => (this.#stderr = (this.#stderr + text).slice(-2000)));
    // EPIPE when the tool stops reading (bad input): its exit status says why, and says it better.
    stdin.on('error', () => this.#releaseWrite());
    stdin.on('drain', () => this.#releaseWrite());
    for (const out of [stdout, stderr]) out.on('error', (err) => this.destroy(err));
    this.#child.once('error', (err) => this.destroy(new Fault('unavailable', `${options.name} could not start: ${err.message}`, { cause: err })));
    this.#child.once('close', (code, signal) => this.#onExit(code, signal));
  }

  #onExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.#exited = true;
    this.#releaseWrite();
    if (this.destroyed) return;
    if (code !== null && (this.#options.okCodes ?? [0]).includes(code)) {
      this.push(null);
      return;
    }
    // The tool's first complaints, without its own name in front (bzip2 goes on with advice on bzip2recover).
    const lines = this.#stderr.split('\n').map((l) => l.replace(/^[\w/.-]+: /, '').trim()).filter(Boolean);
    const why = lines.slice(0, 2).join('; ') || `exited with ${code === null ? `signal ${signal}` : `status ${code}`}`;
    this.destroy(new Fault(this.#options.failure ?? 'invalid-argument', `${this.#options.name}: ${why}`));
  }

  #releaseWrite(): void {
    const pending = this.#pendingWrite;
    this.#pendingWrite = undefined;
    pending?.();
  }

  override _read(): void {
    this.#child.stdout.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    // Input after the tool exited is not wanted (a decompressor that reached its end): drop it.
    if (this.#exited || this.#child.stdin.destroyed) return callback();
    if (this.#child.stdin.write(chunk)) return callback();
    this.#pendingWrite = callback;
  }

  override _final(callback: (err?: Error | null) => void): void {
    if (!this.#child.stdin.destroyed) this.#child.stdin.end();
    callback();
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    if (!this.#exited) this.#child.kill('SIGKILL');
    this.#child.stdin.destroy();
    callback(err);
  }
}
