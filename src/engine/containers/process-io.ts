/*
 * stdio plumbing for a foreground runtime process (`runc run` / `runc exec` and the shell around them):
 *  - pipes: the process's stdout/stderr are pipes read from the first byte into PassThroughs (Node discards
 *    unread child stdio once the child exits, and a short-lived container exits before anyone reads);
 *  - pty: the process runs on a node-pty terminal whose master we hold; runc relays the container console to
 *    it and follows its window size (SIGWINCH), so resize() reaches the container.
 * `exited` resolves with the exit status only after the output has been drained.
 */
import { spawn } from 'node:child_process';
import { PassThrough, Writable, type Readable } from 'node:stream';

export interface Command {
  file: string;
  args: string[];
  env: Record<string, string>;
}

export interface SpawnedProcess {
  /** Pid of the spawned command (the runtime shell, not the container's process). */
  pid: number;
  stdin?: Writable;
  stdout: Readable;
  stderr?: Readable;
  resize(rows: number, cols: number): void;
  /** Exit status (128+N for a signal) once the command exited and its output was drained. Never rejects. */
  exited: Promise<number>;
}

const signalNumbers: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 };

export function spawnWithPipes(command: Command, options: { openStdin: boolean }): SpawnedProcess {
  const child = spawn(command.file, command.args, { env: command.env, stdio: [options.openStdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  // 'close' rather than 'exit': it fires once stdout and stderr are drained.
  const exited = new Promise<number>((resolve) => {
    child.once('close', (code, signal) => resolve(code ?? 128 + (signal ? (signalNumbers[signal] ?? 1) : 0)));
    child.once('error', () => resolve(255));
  });
  const [out, err] = [child.stdout!, child.stderr!];
  const stdout = out.pipe(new PassThrough());
  const stderr = err.pipe(new PassThrough());
  // A pipe error ends our side; it must never surface as an uncaught 'error'.
  out.on('error', (e) => stdout.destroy(e));
  err.on('error', (e) => stderr.destroy(e));
  child.stdin?.on('error', () => undefined);
  return { pid: child.pid ?? 0, stdin: child.stdin ?? undefined, stdout, stderr, resize: () => undefined, exited };
}

export async function spawnWithPty(command: Command, options: { consoleSize?: [number, number] }): Promise<SpawnedProcess> {
  const { spawn: spawnPty } = await import('node-pty');
  const [rows, cols] = options.consoleSize ?? [24, 80];
  const pty = spawnPty(command.file, command.args, { cols: cols || 80, rows: rows || 24, env: command.env, encoding: null as unknown as string });
  const stdout = new PassThrough();
  pty.onData((data: string | Buffer) => stdout.write(typeof data === 'string' ? Buffer.from(data) : data));
  const exited = new Promise<number>((resolve) =>
    pty.onExit(({ exitCode, signal }) => {
      // node-pty may report the exit before the last output was read from the master: let it drain.
      setTimeout(() => {
        stdout.end();
        resolve(signal ? 128 + signal : exitCode);
      }, 20);
    }),
  );
  const stdin = new Writable({
    write: (chunk: Buffer, _enc, callback) => {
      try {
        pty.write(chunk as unknown as string);
        callback();
      } catch (err) {
        callback(err as Error);
      }
    },
    // EOF on a terminal is ^D, as a shell reading the tty expects.
    final: (callback) => {
      try {
        pty.write('\x04');
      } catch {
        // the pty is gone already
      }
      callback();
    },
  });
  stdin.on('error', () => undefined);
  const resize = (r: number, c: number) => {
    if (r > 0 && c > 0) {
      try {
        pty.resize(c, r);
      } catch {
        // resizing a pty whose process exited throws; nothing to resize then
      }
    }
  };
  return { pid: pty.pid, stdin, stdout, resize, exited };
}
