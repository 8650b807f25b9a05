import { randomBytes } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import { Fault } from '../../base/fault.ts';
import type { Logger } from '../../base/log.ts';
import type { EventLog } from '../events.ts';
import { frame } from './container-io.ts';
import { escapeFilter, parseDetachKeys } from './detach-keys.ts';
import type { ContainerProcess, Runtime } from './runtime.ts';
import type { ContainerManager } from './container-manager.ts';

/** The body of POST /containers/{id}/exec. */
export interface ExecConfig {
  User?: string;
  Privileged?: boolean;
  Tty?: boolean;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  Env?: string[] | null;
  WorkingDir?: string;
  Cmd?: string[];
  DetachKeys?: string;
  ConsoleSize?: [number, number] | null;
}

interface ExecRecord {
  id: string;
  containerId: string;
  config: ExecConfig;
  running: boolean;
  exitCode: number | null;
  pid: number;
  process?: ContainerProcess;
  finishedAt?: number;
  /** The start request asked for a TTY: output goes unframed. */
  rawOutput?: boolean;
  /** The escape sequence that detaches a TTY exec's client (moby's ctrl-p ctrl-q unless DetachKeys). */
  detachKeys: Buffer;
}

/** What an exec start hands over: the client's streams and the start request's Tty and console size. */
export interface ExecStreams {
  output?: Writable;
  input?: Readable;
  tty?: boolean;
  consoleSize?: [number, number];
}

/** The client of an attached exec start, until it detaches, hangs up or the process ends. */
interface ExecClient {
  output?: Writable;
  gone: Promise<void>;
  letGo(): void;
}

/** moby validates an exec's detach keys at create, with its own wording. */
function escapeKeys(text: string | undefined): Buffer {
  try {
    return parseDetachKeys(text);
  } catch (cause) {
    throw new Fault('invalid-argument', `Invalid escape keys (${text}) provided`, { cause });
  }
}

/** What `docker exec` reports for a command that could not be started (moby daemon/exec.go). */
const startFailedExitCode = 126;

/** moby's exec event text: the entrypoint, a space, the arguments (so a bare command keeps its trailing space). */
function commandLine(config: ExecConfig): string {
  const [entrypoint = '', ...args] = config.Cmd ?? [];
  return `${entrypoint} ${args.join(' ')}`;
}

/** Finished execs stay inspectable this long (the CLI inspects right after the stream ends). */
const keepFinishedMs = 5 * 60_000;

/**
 * docker exec after moby's daemon/exec.go: create records the request, start runs it (attached through the
 * caller's streams, or detached), and the exit code is recorded before the streams end, because the CLI
 * inspects the exec as soon as it sees EOF.
 */
export class ContainerExecs {
  #containers: ContainerManager;
  #runtime: Runtime;
  #events: EventLog;
  #logger: Logger;
  #execs = new Map<string, ExecRecord>();

  constructor(deps: { containers: ContainerManager; runtime: Runtime; events: EventLog; logger: Logger }) {
    this.#containers = deps.containers;
    this.#runtime = deps.runtime;
    this.#events = deps.events;
    this.#logger = deps.logger;
  }

  create(containerInput: string, config: ExecConfig): { Id: string } {
    this.#prune();
    const record = this.#containers.execTarget(containerInput);
    if (!config.Cmd?.length) throw new Fault('invalid-argument', 'No exec command specified');
    const id = randomBytes(32).toString('hex');
    const detachKeys = escapeKeys(config.DetachKeys);
    this.#execs.set(id, { id, containerId: record.id, config, running: false, exitCode: null, pid: 0, detachKeys });
    this.#event(id, `exec_create: ${commandLine(config)}`);
    return { Id: id };
  }

  get(id: string): ExecRecord {
    const exec = this.#execs.get(id);
    if (!exec) throw new Fault('not-found', `No such exec instance: ${id}`);
    return exec;
  }

  /**
   * A container's execs from create until they exit (moby registers one at create and drops it at its exit), its
   * healthcheck probe among them (moby runs probes as execs).
   */
  idsOf(containerId: string): string[] {
    const own = [...this.#execs.values()].filter((e) => e.containerId === containerId && e.exitCode === null).map((e) => e.id);
    return [...own, ...this.#containers.probeExecIds(containerId)];
  }

  /**
   * Runs the exec. Attached (`output` given): resolves when it has exited and its output is sent, framed unless
   * the start request asked for a TTY (`tty`; moby goes by the start's Tty, not the create's). A process that
   * cannot start is reported in the stream, as moby does. Detached: resolves once started.
   */
  async start(id: string, streams: ExecStreams): Promise<void> {
    const exec = this.get(id);
    if (exec.running || exec.exitCode !== null) throw new Fault('conflict', `Error: Exec command ${id} has already run`);
    const { record, bundleDir, env, cwd } = this.#containers.execContext(exec.containerId, exec.config);
    exec.running = true;
    exec.rawOutput = streams.tty ?? false;
    // moby logs exec_start before the runtime is asked, so a command that cannot start has one too.
    this.#event(id, `exec_start: ${commandLine(exec.config)}`);
    let process: ContainerProcess;
    try {
      process = await this.#runtime.exec(record.id, bundleDir, {
        execId: id,
        args: exec.config.Cmd ?? [],
        env,
        cwd,
        user: exec.config.User ?? record.config.User,
        terminal: exec.config.Tty ?? false,
        consoleSize: streams.consoleSize ?? exec.config.ConsoleSize ?? undefined,
        openStdin: Boolean(exec.config.AttachStdin && streams.input),
        privileged: exec.config.Privileged ?? false,
      });
    } catch (err) {
      // moby daemon/exec.go: whatever stops an exec from starting leaves ExitCode 126 (not found included), and no exec_die.
      this.#finish(exec, startFailedExitCode, { event: false });
      if (!streams.output) throw err;
      this.#write(exec, streams.output, 'stdout', Buffer.from(`${err instanceof Error ? err.message : String(err)}\r\n`));
      streams.output.end();
      return;
    }
    exec.process = process;
    exec.pid = process.pid;
    const client = this.#client(exec, process, streams);
    const done = this.#pump(exec, process, client).then(async () => {
      const { exitCode } = await process.exited;
      this.#finish(exec, exitCode);
      client.letGo();
    });
    if (streams.output) await Promise.race([done, client.gone]);
    else done.catch((err) => this.#logger.warn({ err, id }, 'detached exec failed'));
  }

  /**
   * The attached client's side (moby container/stream CopyStreams with CloseStdin): without a TTY its EOF
   * closes the process's stdin; with one, its EOF or the detach keys only let the client go (its output ends)
   * and the process runs on, its terminal kept open and drained. A dropped connection counts as EOF (moby closes
   * stdin on any read error).
   */
  #client(exec: ExecRecord, process: ContainerProcess, streams: ExecStreams): ExecClient {
    let letGo!: () => void;
    const gone = new Promise<void>((resolve) => (letGo = resolve));
    const client: ExecClient = { output: streams.output, gone, letGo: () => undefined };
    client.letGo = () => {
      client.output = undefined;
      streams.input?.off('data', onData).off('end', onEnd).off('close', onEnd);
      if (streams.output?.writable) streams.output.end();
      letGo();
    };
    const stdin = process.stdin;
    const escape = exec.config.Tty ? escapeFilter(exec.detachKeys) : undefined;
    const onData = (chunk: Buffer) => {
      const { forward, detach } = escape ? escape(chunk) : { forward: chunk, detach: false };
      if (forward.length && stdin?.writable) stdin.write(forward);
      if (!detach) return;
      this.#event(exec.id, 'exec_detach', { execID: exec.id });
      client.letGo();
    };
    const onEnd = () => (exec.config.Tty ? client.letGo() : stdin?.writable && stdin.end());
    if (streams.input && stdin) {
      stdin.on('error', () => undefined);
      // A connection that drops without a clean close has no 'end', only 'close' (after any 'error').
      streams.input.on('data', onData).once('end', onEnd).once('close', onEnd);
      // Reading the start body may have paused the socket; a paused stream ignores new 'data' listeners.
      streams.input.resume();
    }
    return client;
  }

  /** Reads the process's output to its end, sending it to the client while one is attached. */
  #pump(exec: ExecRecord, process: ContainerProcess, client: ExecClient): Promise<void> {
    const sources: [Readable, 'stdout' | 'stderr'][] = [[process.stdout, 'stdout']];
    if (process.stderr) sources.push([process.stderr, 'stderr']);
    return Promise.all(
      sources.map(
        ([source, name]) =>
          new Promise<void>((resolve) => {
            const wanted = name === 'stdout' ? exec.config.AttachStdout !== false : exec.config.AttachStderr !== false;
            source.on('data', (chunk: Buffer) => client.output && wanted && this.#write(exec, client.output, name, chunk));
            source.once('end', resolve);
            source.once('close', resolve);
            source.once('error', () => resolve());
          }),
      ),
    ).then(() => undefined);
  }

  #write(exec: ExecRecord, output: Writable, stream: 'stdout' | 'stderr', chunk: Buffer): void {
    if (!output.writable) return;
    output.write(exec.rawOutput ? chunk : frame(stream === 'stdout' ? 1 : 2, chunk));
  }

  #finish(exec: ExecRecord, exitCode: number, options: { event: boolean } = { event: true }): void {
    exec.running = false;
    exec.exitCode = exitCode;
    exec.pid = 0;
    exec.process = undefined;
    exec.finishedAt = Date.now();
    if (options.event) this.#event(exec.id, 'exec_die', { execID: exec.id, exitCode: String(exitCode) });
  }

  resize(id: string, rows: number, cols: number): void {
    const exec = this.get(id);
    if (!exec.process) throw new Fault('conflict', `exec ${id} is not running`);
    exec.process.resize(rows, cols);
  }

  /** GET /exec/{id}/json */
  inspect(id: string): Record<string, unknown> {
    const exec = this.get(id);
    const [entrypoint, ...args] = exec.config.Cmd ?? [];
    return {
      ID: exec.id,
      Running: exec.running,
      ExitCode: exec.exitCode,
      // moby's ExecProcessConfig: `user` is omitempty.
      ProcessConfig: { tty: exec.config.Tty ?? false, entrypoint, arguments: args, privileged: exec.config.Privileged ?? false, ...(exec.config.User ? { user: exec.config.User } : {}) },
      OpenStdin: exec.config.AttachStdin ?? false,
      OpenStderr: exec.config.AttachStderr ?? false,
      OpenStdout: exec.config.AttachStdout ?? false,
      CanRemove: false,
      ContainerID: exec.containerId,
      // moby keeps the parsed keys as bytes, so its JSON has them in base64 (none given: empty).
      DetachKeys: exec.config.DetachKeys ? exec.detachKeys.toString('base64') : '',
      Pid: exec.pid,
    };
  }

  #event(execId: string, action: string, extra: Record<string, string> = {}): void {
    const exec = this.#execs.get(execId);
    const record = exec && this.#containers.store.get(exec.containerId);
    if (!record) return;
    this.#events.emit('container', action, {
      id: record.id,
      attributes: { ...record.config.Labels, image: record.config.Image, name: record.name.slice(1), execID: execId, ...extra },
    });
  }

  /** Drops execs whose container is gone, and finished ones after a while. */
  #prune(): void {
    const now = Date.now();
    for (const [id, exec] of this.#execs) {
      const gone = !this.#containers.store.get(exec.containerId);
      if (gone || (exec.finishedAt && now - exec.finishedAt > keepFinishedMs)) this.#execs.delete(id);
    }
  }
}
