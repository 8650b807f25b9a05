import type { Command } from 'commander';
import { pino } from 'pino';
import { EngineRoots } from '../registry/gc/engine-roots.ts';
import { GarbageCollector } from '../registry/gc/garbage-collector.ts';
import { openBlobStore } from '../main/open-blob-store.ts';
import { openReplicaCoordination } from '../main/open-replica-coordination.ts';
import { GcRuns } from '../hub/admin/gc-runs.ts';
import { cacheExpiryCutoff, expireCache } from '../registry/mirror/expire-cache.ts';
import type { AdminContext } from '../auth/cli.ts';

interface GcFlags {
  config?: string;
  root?: string;
  dryRun?: boolean;
  deleteUntagged?: boolean;
  grace?: string;
}

/**
 * `wharf gc`: one online collection on a root a running `wharf serve` may be using. Prints each manifest and
 * blob it removes (or, with --dry-run, would remove: the same lines), then a summary.
 */
export function registerGcCommand(
  program: Command,
  open: (flags: GcFlags) => Promise<AdminContext>,
  addCommon: (command: Command) => Command,
  out: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): void {
  addCommon(program.command('gc').description('garbage collection: remove blobs nothing references (safe while serving)'))
    .option('--dry-run', 'list what would be removed, remove nothing')
    .option('--delete-untagged', 'first remove manifests no tag reaches (not children of a kept index, not referrers of a kept subject)')
    .option('--grace <seconds>', 'keep blobs used this recently (default registry.gc.gracePeriodSeconds)')
    .action(async (flags: GcFlags) => {
      const context = await open(flags);
      // On PostgreSQL, replicas' schedulers may be collecting: one collection at a time (a dry run removes nothing).
      const replica = await openReplicaCoordination(context.config);
      try {
        const graceSeconds = flags.grace === undefined ? context.config.registry.gc.gracePeriodSeconds : parseGrace(flags.grace);
        const blobs = await openBlobStore(context.config);
        // Logs go to stderr: stdout is the list of what was removed.
        const logger = pino({ level: context.config.log.level, name: 'wharf-gc' }, pino.destination(2));
        const local = new GarbageCollector({ blobs, index: context.stores.gc, engine: new EngineRoots(context.config.root), logger });
        // registry.proxy.expiry first, as the scheduled collection does: what it drops is freed by this run.
        const cutoff = cacheExpiryCutoff(context.config.registry.proxy, new Date());
        if (cutoff && flags.dryRun) out(`cache expiry (unused since ${cutoff.toISOString()}) is not run in a dry run`);
        if (cutoff && !flags.dryRun) {
          const expired = await expireCache({ meta: context.stores.meta, mirror: context.stores.mirror, blobs, cutoff, logger });
          out(`expired ${expired.manifests} cached manifests unused since ${cutoff.toISOString()}, ${expired.tags} tags; unlinked ${expired.unlinked} blobs`);
        }
        // Recorded as a run (GET /api/v1/gc/runs lists it), under the replicas' lock unless a dry run.
        const runs = new GcRuns({ collector: local, lock: replica.gcLock, store: context.stores.gcRuns, logger, ...context.config.registry.gc });
        const started = performance.now();
        const result = await runs.run('cli', {
          graceSeconds,
          dryRun: flags.dryRun ?? false,
          deleteUntagged: flags.deleteUntagged ?? false,
          onManifest: (m) => out(`manifest ${m.repository}@${m.digest}`),
          onBlob: (b) => out(`blob ${b.digest} ${b.size}`),
        });
        const verb = flags.dryRun ? 'would free' : 'freed';
        const seconds = ((performance.now() - started) / 1000).toFixed(1);
        out(`${verb} ${result.blobs} blobs, ${result.bytes} bytes; ${result.manifests} untagged manifests; ${result.kept} kept by a re-check; ${seconds} s`);
      } finally {
        await replica.close();
        await context.close();
      }
    });
}

function parseGrace(text: string): number {
  const seconds = Number(text);
  if (!Number.isSafeInteger(seconds) || seconds < 0) throw new Error(`--grace: ${text} is not a whole number of seconds`);
  return seconds;
}
