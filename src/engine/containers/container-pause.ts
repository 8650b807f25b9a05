import { Fault } from '../../base/fault.ts';
import type { ContainerRecord } from './container-record.ts';
import { setPaused, setUnpaused } from './container-state.ts';
import type { DaemonContext } from './daemon-context.ts';
import { startHealthMonitor, stopHealthMonitor } from './container-health.ts';

export function pause(ctx: DaemonContext, input: string): Promise<void> {
  const record = ctx.deps.store.resolve(input);
  return ctx.withLock(record.id, async () => {
    if (!record.state.Running || record.state.Restarting) throw new Fault('conflict', `Container ${record.id} is not running`);
    if (record.state.Paused) throw new Fault('conflict', `Container ${record.id} is already paused`);
    await stopHealthMonitor(ctx, record.id);
    await ctx.deps.runtime.pause(record.id);
    setPaused(record.state);
    ctx.deps.store.save(record);
    ctx.event(record, 'pause');
  });
}

export function unpause(ctx: DaemonContext, input: string): Promise<void> {
  const record = ctx.deps.store.resolve(input);
  return ctx.withLock(record.id, async () => {
    if (!record.state.Paused) throw new Fault('conflict', `Container ${record.id} is not paused`);
    await unpauseLocked(ctx, record);
  });
}

/** Thaws a paused container; the caller holds its lock (or signals it, which needs it thawed). */
export async function unpauseLocked(ctx: DaemonContext, record: ContainerRecord): Promise<void> {
  await ctx.deps.runtime.resume(record.id);
  setUnpaused(record.state);
  ctx.deps.store.save(record);
  ctx.event(record, 'unpause');
  if (record.state.Running) startHealthMonitor(ctx, record, { resume: true });
}

/**
 * Runs `work` with a running container's processes frozen (unless the user paused it already), so none can swap
 * a directory that a path walk has checked for a symlink before it is used (moby pauses for docker cp after
 * CVE-2018-15664). No pause/unpause event: the container's state does not change for its user.
 */
export async function frozen<T>(ctx: DaemonContext, record: ContainerRecord, work: () => Promise<T>): Promise<T> {
  if (record.state.Paused) return work();
  await ctx.deps.runtime.pause(record.id);
  try {
    return await work();
  } finally {
    await ctx.deps.runtime.resume(record.id).catch((err) => ctx.deps.logger.warn({ err, id: record.id }, 'thawing a container after a copy failed'));
  }
}
