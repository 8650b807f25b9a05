import { restartsWithDaemon } from './container-restart.ts';
import { setCrashed } from './container-state.ts';
import { remove } from './container-delete.ts';
import { start } from './container-start.ts';
import { signalProcess } from './container-stop.ts';
import type { DaemonContext } from './daemon-context.ts';

/**
 * moby daemon/daemon.go restore, after an engine (re)start: clean what a crash left running, drop --rm
 * containers, and start the ones their restart policy brings back.
 */
export async function restore(ctx: DaemonContext): Promise<void> {
  const { store, runtime, logger } = ctx.deps;
  for (const duplicate of store.duplicates()) {
    logger.warn({ id: duplicate.id, name: duplicate.name }, 'container not restored: an older container has its name');
  }
  for (const record of store.list()) {
    const interruptedStart = ctx.resources.some((r) => r.leftBehind?.(record));
    if (record.state.Running || record.state.Paused || record.state.Status === 'removing' || interruptedStart) {
      await runtime.cleanup(record.id, ctx.bundleDir(record.id)).catch(() => undefined);
      for (const resource of ctx.resources) {
        await resource.recover?.(record).catch((err) => logger.warn({ err, id: record.id, resource: resource.name }, 'cleaning up after a crash failed'));
      }
      if (!interruptedStart || record.state.Running) setCrashed(record.state, ctx.iso());
      store.save(record);
    }
  }
  for (const record of store.list()) {
    try {
      if (record.hostConfig.AutoRemove) await remove(ctx, record.id, { force: true, volumes: true });
      else if (restartsWithDaemon(record.hostConfig.RestartPolicy, record.manuallyStopped, record.state.ExitCode)) await start(ctx, record.id);
    } catch (err) {
      logger.warn({ err, id: record.id }, 'container restore failed');
    }
  }
}

/** Engine shutdown: kill what runs (restart policies bring it back at the next start), end all streams. */
export async function shutdown(ctx: DaemonContext): Promise<void> {
  ctx.shuttingDown = true;
  const running: Promise<void>[] = [];
  for (const [id, live] of ctx.live) {
    if (live.restartTimer) clearTimeout(live.restartTimer);
    const record = ctx.deps.store.get(id);
    if (!record || !live.process || !live.runDone) continue;
    running.push(
      signalProcess(ctx, record, 9)
        .catch(() => undefined)
        .then(() => live.runDone),
    );
  }
  await Promise.all(running);
  await Promise.all([...ctx.locks.values()].map((p) => p.catch(() => undefined)));
  for (const live of ctx.live.values()) live.io.log.close();
}
