import { Fault } from '../../base/fault.ts';
import { nextRestartDelay, shouldRestart } from './container-restart.ts';
import { acquireAll, releaseAll } from './container-resources.ts';
import type { ContainerRecord } from './container-record.ts';
import { parseSignal } from './container-signals.ts';
import { endpointsAtCreate } from './container-endpoints.ts';
import { setRestarting, setRunning, setStartFailed } from './container-state.ts';
import { remove } from './container-delete.ts';
import { watchExit } from './container-monitor.ts';
import { startHealthMonitor } from './container-health.ts';
import { stopLocked } from './container-stop.ts';
import type { DaemonContext, Live } from './daemon-context.ts';
import { runSpec } from './run-spec.ts';
import { ProcessStartError, type ContainerProcess } from './runtime.ts';

/** Returns false when it was already running (the API answers 304). */
export function start(ctx: DaemonContext, input: string): Promise<boolean> {
  const record = ctx.deps.store.resolve(input);
  return ctx.withLock(record.id, () => startLocked(ctx, record.id));
}

/** moby daemon/start.go: acquires the run's resources, starts the process, watches for its exit. */
async function startLocked(ctx: DaemonContext, id: string): Promise<boolean> {
  const record = ctx.deps.store.resolve(id);
  const live = ctx.liveOf(record);
  if (record.state.Paused) throw new Fault('conflict', 'cannot start a paused container, try unpause instead');
  if (record.state.Running && !record.state.Restarting) return false;
  if (live.restartTimer) clearTimeout(live.restartTimer);
  live.restartTimer = undefined;
  live.stopping = false;
  record.manuallyStopped = false;
  let process: ContainerProcess;
  let acquired = false;
  try {
    joinNetworksOfOldRecord(ctx, record);
    await acquireAll(ctx.resources, record);
    acquired = true;
    process = await ctx.deps.runtime.run(await runSpec(ctx, record));
  } catch (err) {
    if (acquired) await releaseAll(ctx.resources, record);
    startFailed(ctx, record, err);
    throw startFault(err);
  }
  setRunning(record.state, process.pid, ctx.iso());
  ctx.deps.store.save(record);
  live.process = process;
  const outputs = live.io.connect(process);
  live.runDone = watchExit(ctx, record.id, process, outputs, (exited, exitedLive, ranForMs) => afterExit(ctx, exited, exitedLive, ranForMs));
  ctx.event(record, 'start');
  startHealthMonitor(ctx, record);
  return true;
}

/** A record from before networks was on the default bridge (or host/none): it joins as a new one would. */
function joinNetworksOfOldRecord(ctx: DaemonContext, record: ContainerRecord): void {
  if (record.networks || record.hostConfig.NetworkMode.startsWith('container:')) return;
  record.networks = endpointsAtCreate(ctx.deps.networking, {}, record.hostConfig);
}

/** The exit code says why (127 not found, 126 not executable); the state stays as it was. */
function startFailed(ctx: DaemonContext, record: ContainerRecord, err: unknown): void {
  const live = ctx.liveOf(record);
  setStartFailed(record.state, live.waiters, startExitCode(err), err instanceof Error ? err.message : String(err));
  ctx.deps.store.save(record);
  live.io.endRun();
  ctx.event(record, 'die', { exitCode: String(record.state.ExitCode) });
  if (record.hostConfig.AutoRemove) void remove(ctx, record.id, { force: true, volumes: true }).catch(() => undefined);
}

/** After an exit: `--rm` removes the container, else its restart policy may start it again after a delay. */
function afterExit(ctx: DaemonContext, record: ContainerRecord, live: Live, ranForMs: number): void {
  if (live.removing) return;
  if (record.hostConfig.AutoRemove) {
    void remove(ctx, record.id, { force: true, volumes: true }).catch((err) => ctx.deps.logger.warn({ err, id: record.id }, 'auto-remove failed'));
    return;
  }
  const restart = shouldRestart(record.hostConfig.RestartPolicy, {
    exitCode: record.state.ExitCode,
    manuallyStopped: record.manuallyStopped || live.stopping,
    restartCount: record.restartCount,
  });
  if (!restart || ctx.shuttingDown) return;
  live.restartDelay = nextRestartDelay(live.restartDelay, ranForMs);
  setRestarting(record.state);
  ctx.deps.store.save(record);
  live.restartTimer = setTimeout(() => {
    live.restartTimer = undefined;
    void ctx
      .withLock(record.id, async () => {
        const current = ctx.deps.store.get(record.id);
        if (!current?.state.Restarting) return;
        current.restartCount++;
        await startLocked(ctx, record.id);
        ctx.event(current, 'restart');
      })
      .catch((err) => ctx.deps.logger.warn({ err, id: record.id }, 'restart failed'));
  }, live.restartDelay);
}

export async function restart(ctx: DaemonContext, input: string, timeout?: number): Promise<void> {
  const record = ctx.deps.store.resolve(input);
  await ctx.withLock(record.id, async () => {
    await stopLocked(ctx, record.id, parseSignal(record.config.StopSignal ?? 'SIGTERM').number, timeout);
    await startLocked(ctx, record.id);
  });
  ctx.event(record, 'restart');
}

/** The runtime words a start error and picks its exit code (127 not found, 126 not executable); anything else is 128. */
function startExitCode(err: unknown): number {
  return err instanceof ProcessStartError ? err.exitCode : 128;
}

function startFault(err: unknown): unknown {
  // moby answers 400 for a command that cannot run, 500 otherwise.
  if (startExitCode(err) !== 128) return new Fault('invalid-argument', `failed to create task for container: ${(err as Error).message}`, { cause: err });
  return err;
}
