import { Fault, isFault } from '../../base/fault.ts';
import { removeAnonymous } from '../volumes/container-mounts.ts';
import type { ContainerRecord } from './container-record.ts';
import { recordMounts } from './container-spec.ts';
import { setRemoved, setRemoving } from './container-state.ts';
import { signalProcess } from './container-stop.ts';
import type { DaemonContext, Live } from './daemon-context.ts';

/** `volumes` (`rm -v`, `--rm`): the container's anonymous volumes go with it. */
export function remove(ctx: DaemonContext, input: string, options: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
  const record = ctx.deps.store.resolve(input);
  return ctx.withLock(record.id, async () => {
    if (!ctx.deps.store.get(record.id)) return;
    const live = ctx.liveOf(record);
    if (record.state.Running && !options.force) {
      const what = record.state.Paused ? 'container is paused and must be unpaused first' : 'container is running: stop the container before removing or force remove';
      throw new Fault('conflict', `cannot remove container "${record.name}": ${what}`);
    }
    live.removing = true;
    live.stopping = true;
    if (live.restartTimer) clearTimeout(live.restartTimer);
    if (live.runDone && live.process) {
      await signalProcess(ctx, record, 9);
      await live.runDone;
    }
    await destroy(ctx, record, live);
    if (options.volumes) await removeAnonymous(ctx.deps.volumes, recordMounts(record), ctx.deps.logger);
  });
}

async function destroy(ctx: DaemonContext, record: ContainerRecord, live: Live): Promise<void> {
  setRemoving(record.state);
  await ctx.deps.runtime.cleanup(record.id, ctx.bundleDir(record.id)).catch((err) => ctx.deps.logger.warn({ err, id: record.id }, 'runtime cleanup failed'));
  await ctx.deps.snapshotter.remove(record.snapshotKey).catch((err) => {
    if (!isFault(err, 'not-found')) throw err;
  });
  live.io.endRun();
  live.io.log.close();
  ctx.deps.store.delete(record.id);
  ctx.live.delete(record.id);
  ctx.event(record, 'destroy');
  setRemoved(record.state, live.waiters);
}
