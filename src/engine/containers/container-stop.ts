import { Fault } from '../../base/fault.ts';
import type { ContainerRecord } from './container-record.ts';
import { parseSignal } from './container-signals.ts';
import { setRestartCancelled } from './container-state.ts';
import { unpauseLocked } from './container-pause.ts';
import type { DaemonContext, Live } from './daemon-context.ts';

/** Returns false when it was not running (304). */
export function stop(ctx: DaemonContext, input: string, options: { timeout?: number; signal?: string } = {}): Promise<boolean> {
  const record = ctx.deps.store.resolve(input);
  const signal = parseSignal(options.signal ?? record.config.StopSignal ?? 'SIGTERM');
  return ctx.withLock(record.id, () => stopLocked(ctx, record.id, signal.number, options.timeout));
}

/** moby daemon/stop.go: the stop signal, then SIGKILL after the timeout; the caller holds the lock. */
export async function stopLocked(ctx: DaemonContext, id: string, signal: number, timeoutSeconds?: number): Promise<boolean> {
  const record = ctx.deps.store.resolve(id);
  const live = ctx.liveOf(record);
  record.manuallyStopped = true;
  if (live.restartTimer) {
    clearTimeout(live.restartTimer);
    live.restartTimer = undefined;
    setRestartCancelled(record.state);
    ctx.deps.store.save(record);
    return true;
  }
  ctx.deps.store.save(record);
  if (!record.state.Running || !live.runDone) return false;
  live.stopping = true;
  const timeout = timeoutSeconds ?? record.config.StopTimeout ?? 10;
  await signalProcess(ctx, record, signal);
  if (!(await settlesWithin(live.runDone, timeout))) await signalProcess(ctx, record, 9);
  await live.runDone;
  ctx.event(record, 'stop');
  return true;
}

export async function signalProcess(ctx: DaemonContext, record: ContainerRecord, signal: number): Promise<void> {
  ctx.event(record, 'kill', { signal: String(signal) });
  await ctx.deps.runtime.kill(record.id, signal).catch((err) => {
    if (record.state.Running) throw err;
  });
  // A frozen task only acts on a signal once thawed.
  if (record.state.Paused) await unpauseLocked(ctx, record);
}

export async function kill(ctx: DaemonContext, input: string, signalName = 'KILL'): Promise<void> {
  const signal = parseSignal(signalName);
  const record = ctx.deps.store.resolve(input);
  const live: Live = ctx.liveOf(record);
  if (!record.state.Running || record.state.Restarting || !live.process) {
    throw new Fault('conflict', `Cannot kill container: ${input}: Container ${record.id} is not running`);
  }
  // moby: KILL or the container's stop signal disables the restart policy until the next start.
  if (signal.number === 9 || signal.number === parseSignal(record.config.StopSignal ?? 'SIGTERM').number) live.stopping = true;
  const runDone = live.runDone;
  await signalProcess(ctx, record, signal.number);
  // moby daemon/kill.go: a SIGKILL waits (up to 10 s) for the exit, so an inspect right after shows it exited, 137.
  if (signal.number === 9 && runDone) await settlesWithin(runDone, killWaitSeconds);
}

const killWaitSeconds = 10;

/** Resolves true when `promise` settles within `seconds` (negative waits forever). */
async function settlesWithin(promise: Promise<unknown>, seconds: number): Promise<boolean> {
  if (seconds < 0) {
    await promise;
    return true;
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), seconds * 1000)));
  const result = await Promise.race([promise.then(() => true), timeout]);
  clearTimeout(timer);
  return result;
}
