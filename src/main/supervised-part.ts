import { type ChildProcess, fork } from 'node:child_process';
import type { Config } from '../base/config.ts';
import { Fault } from '../base/fault.ts';
import type { Logger } from '../base/log.ts';
import { partMessage, type PartReady, type SupervisedPartName, type SupervisorMessage } from './part-messages.ts';
import { RestartBackoff } from './restart-backoff.ts';

export interface SupervisedPartOptions {
  part: SupervisedPartName;
  /** The config each (re)start gets; called per start so an address bound at the first start can be pinned. */
  config: () => Config;
  /** The module the part's process runs (part-entry.ts). */
  entry: string;
  logger: Logger;
  /** After SIGTERM, how long the part may take to close before SIGKILL. */
  stopGraceMs: number;
  /** How long a start may take before the part is killed (default 120 s: an engine restores its containers). */
  readyTimeoutMs?: number;
}

const defaultReadyTimeoutMs = 120_000;

interface Run {
  child: ChildProcess;
  startedAt: number;
  readyTimer?: NodeJS.Timeout;
  failure?: string;
  exited: Promise<void>;
}

/**
 * One part's process: forked with the supervisor's own node binary and flags, restarted with backoff when it
 * dies unexpectedly, stopped with SIGTERM then SIGKILL. Until it has been ready once, a death is a start failure
 * that `start()` reports instead of retrying.
 */
export class SupervisedPart {
  readonly name: SupervisedPartName;
  #options: SupervisedPartOptions;
  #log: Logger;
  #backoff: RestartBackoff;
  #run?: Run;
  #restartTimer?: NodeJS.Timeout;
  #everReady = false;
  #stopping = false;
  #firstStart?: { resolve: (ready: PartReady) => void; reject: (err: Error) => void };

  constructor(options: SupervisedPartOptions) {
    this.name = options.part;
    this.#options = options;
    this.#log = options.logger.child({ child: options.part });
    this.#backoff = new RestartBackoff();
  }

  /** Resolves when the part is first ready; rejects with the part's own reason when it dies before that. */
  start(): Promise<PartReady> {
    return new Promise((resolve, reject) => {
      this.#firstStart = { resolve, reject };
      this.#spawn();
    });
  }

  /** Asks the part to close, SIGKILLs it after the grace; no restart afterwards. */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#restartTimer);
    const run = this.#run;
    if (!run || run.child.pid === undefined || run.child.exitCode !== null || run.child.signalCode !== null) return;
    this.#send(run, { type: 'stop' });
    const timer = setTimeout(() => {
      this.#log.warn({ childPid: run.child.pid, graceMs: this.#options.stopGraceMs }, 'part did not stop in time, killing it');
      run.child.kill('SIGKILL');
    }, this.#options.stopGraceMs);
    await run.exited;
    clearTimeout(timer);
  }

  #spawn(): void {
    // The argument only names the process in `ps`; the part learns what to run from the start message.
    const child = fork(this.#options.entry, [this.name], {
      execPath: process.execPath,
      // bin/wharf's flags (--max-semi-space-size=1, …) apply to every part, as they did in one process.
      execArgv: process.execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'json',
    });
    const run: Run = { child, startedAt: Date.now(), exited: new Promise((resolve) => child.once('exit', () => resolve())) };
    this.#run = run;
    this.#log.info({ childPid: child.pid }, 'part started');
    child.on('message', (raw: unknown) => this.#onMessage(run, raw));
    child.once('exit', (code, signal) => this.#onExit(run, code, signal));
    // A fork that fails (EAGAIN, ENOMEM) emits 'error' and never 'exit'.
    child.on('error', (err) => {
      if (child.pid === undefined) this.#onExit(run, null, null, err.message);
      else this.#log.warn({ err, childPid: child.pid }, 'part process error');
    });
    this.#send(run, { type: 'start', part: this.name, config: this.#options.config() });
    // A part that hangs while starting (a stuck mount, a lock) is killed; its exit then counts as a failure.
    const readyMs = this.#options.readyTimeoutMs ?? defaultReadyTimeoutMs;
    run.readyTimer = setTimeout(() => {
      run.failure = `not ready within ${readyMs / 1000} s`;
      this.#log.error({ childPid: child.pid }, 'part did not become ready in time, killing it');
      child.kill('SIGKILL');
    }, readyMs);
  }

  /** A part whose channel is already gone is exiting; its 'exit' (or the stop grace) settles what follows. */
  #send(run: Run, message: SupervisorMessage): void {
    if (run.child.connected) run.child.send(message, (err) => err && this.#log.warn({ err }, 'part channel closed'));
  }

  #onMessage(run: Run, raw: unknown): void {
    const parsed = partMessage.safeParse(raw);
    if (!parsed.success) return void this.#log.warn({ message: raw }, 'part sent an unknown message');
    const message = parsed.data;
    if (message.type === 'failed') {
      run.failure = message.message;
      return;
    }
    clearTimeout(run.readyTimer);
    const { registryUrl, engineSocket } = message;
    this.#log.info({ childPid: run.child.pid, restarted: this.#everReady, registryUrl, engineSocket }, 'part ready');
    this.#everReady = true;
    this.#firstStart?.resolve(message);
    this.#firstStart = undefined;
  }

  #onExit(run: Run, code: number | null, signal: NodeJS.Signals | null, spawnError?: string): void {
    clearTimeout(run.readyTimer);
    const uptimeMs = Date.now() - run.startedAt;
    const reason = spawnError ?? run.failure;
    const fields = { childPid: run.child.pid, code, signal, uptimeMs, reason };
    if (this.#stopping || !this.#everReady) {
      if (this.#stopping) this.#log.info(fields, 'part exited');
      else this.#log.error(fields, 'part exited before it was ready');
      const why = this.#stopping ? 'stopped before it was ready' : (reason ?? describeExit(code, signal));
      this.#firstStart?.reject(new Fault('unavailable', `${this.name} failed to start: ${why}`));
      this.#firstStart = undefined;
      return;
    }
    const delayMs = this.#backoff.delayAfter(uptimeMs);
    this.#log.error({ ...fields, restartInMs: delayMs }, 'part exited unexpectedly, restarting');
    this.#restartTimer = setTimeout(() => this.#spawn(), delayMs);
  }
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `killed by ${signal}` : `exited with code ${code}`;
}
