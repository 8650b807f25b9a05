import { releaseAll } from './container-resources.ts';
import type { ContainerRecord } from './container-record.ts';
import { setStopped } from './container-state.ts';
import { stopHealthMonitor } from './container-health.ts';
import type { DaemonContext, Live } from './daemon-context.ts';
import type { ContainerProcess, ExitInfo } from './runtime.ts';

/** What happens after an exit was recorded (the restart policy, auto-remove); `ranForMs` is the run's length. */
export type AfterExit = (record: ContainerRecord, live: Live, ranForMs: number) => void;

/**
 * moby daemon/monitor.go: waits for a run's process and its output, releases what the run held, records the
 * exit (which wakes its waiters) and hands over to `afterExit`.
 */
export async function watchExit(ctx: DaemonContext, id: string, process: ContainerProcess, outputs: Promise<void>, afterExit: AfterExit): Promise<void> {
  let exit: ExitInfo;
  try {
    exit = await process.exited;
  } catch (err) {
    ctx.deps.logger.warn({ err, id }, 'container process wait failed');
    exit = { exitCode: 255, oomKilled: false };
  }
  await outputs;
  await stopHealthMonitor(ctx, id, { exited: true });
  const held = ctx.deps.store.get(id);
  const exiting = ctx.live.get(id);
  if (exiting) exiting.exiting = true;
  if (held) await releaseAll(ctx.resources, held);
  if (exiting) exiting.exiting = false;
  const record = ctx.deps.store.get(id);
  const live = ctx.live.get(id);
  if (!record || !live) return;
  const startedAt = Date.parse(record.state.StartedAt);
  setStopped(record.state, live.waiters, exit, ctx.iso());
  ctx.deps.store.save(record);
  live.process = undefined;
  live.io.endRun();
  if (exit.oomKilled) ctx.event(record, 'oom');
  ctx.event(record, 'die', { exitCode: String(exit.exitCode) });
  afterExit(record, live, ctx.now() - startedAt);
}
