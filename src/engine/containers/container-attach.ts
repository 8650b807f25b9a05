import type { Readable, Writable } from 'node:stream';
import { Fault } from '../../base/fault.ts';
import type { AttachOptions } from './container-io.ts';
import type { ContainerLog } from './container-log.ts';
import type { ContainerRecord } from './container-record.ts';
import type { DaemonContext } from './daemon-context.ts';
import { parseDetachKeys } from './detach-keys.ts';

export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

/** Registers a client on the container's streams; call before start so no output is missed. */
export function attach(ctx: DaemonContext, input: string, output: Writable, stdin: Readable | undefined, options: AttachOptions): () => void {
  const record = ctx.deps.store.resolve(input);
  const detachKeys = parseDetachKeys(options.detachKeys);
  const live = ctx.liveOf(record);
  const detach = live.io.attach(output, stdin, {
    ...options,
    stdin: options.stdin && record.config.OpenStdin,
    stdinOnce: record.config.StdinOnce,
    escapeKeys: detachKeys,
    onDetach: () => ctx.event(record, 'detach'),
  });
  ctx.event(record, 'attach');
  return detach;
}

/**
 * Registers a waiter at once (so `docker run` may start right after the wait headers) and returns the exit
 * code when the condition holds (the state transitions wake it). `removed` keeps the exit code of the last run.
 */
export function wait(ctx: DaemonContext, input: string, condition: WaitCondition): Promise<number> {
  const record = ctx.deps.store.resolve(input);
  const live = ctx.liveOf(record);
  if (condition === 'not-running' && !record.state.Running) return Promise.resolve(record.state.ExitCode);
  return new Promise((resolve) => (condition === 'removed' ? live.waiters.removed : live.waiters.exit).push(resolve));
}

export function resize(ctx: DaemonContext, input: string, rows: number, cols: number): void {
  const record = ctx.deps.store.resolve(input);
  const live = ctx.live.get(record.id);
  if (!record.state.Running || !live?.process) throw new Fault('conflict', `Container ${record.id} is not running`);
  live.process.resize(rows, cols);
}

/** The log and, while running, a promise of the current run's end (for `logs -f`). */
export function logSource(ctx: DaemonContext, input: string): { record: ContainerRecord; log: ContainerLog; running?: Promise<void> } {
  const record = ctx.deps.store.resolve(input);
  const live = ctx.liveOf(record);
  return { record, log: live.io.log, running: record.state.Running && live.runDone ? live.runDone : undefined };
}
