import type { Logger } from '../../base/log.ts';
import type { GcIndex, GcManifest } from '../../meta/gc-index.ts';
import type { RetentionIndex, TagRecord } from '../../meta/retention-index.ts';
import type { ImmutableTags } from './immutable-tags.ts';
import { type ExpiredManifest, planRetention, type RetentionRule } from './retention-plan.ts';

export interface RetentionDeps {
  rules: readonly RetentionRule[];
  immutable: ImmutableTags;
  tags: RetentionIndex;
  /** The collection's index: manifests and children to plan from, and its re-checked untagged deletion. */
  gc: GcIndex;
  now: Date;
}

export interface RetentionOptions {
  dryRun: boolean;
  onTag?: (tag: TagRecord) => void;
  onManifest?: (manifest: GcManifest) => void;
}

/**
 * Plans from the current rows, then (unless dry) deletes: each tag only if it still points where the plan saw
 * it, each manifest through gc's re-checked deletion. Blobs are left to the next garbage collection.
 */
export async function applyRetention(deps: RetentionDeps, options: RetentionOptions): Promise<{ tags: number; manifests: number }> {
  const [tags, manifests, children] = await Promise.all([deps.tags.tags(), deps.gc.manifests(), deps.gc.children()]);
  const plan = planRetention(deps.rules, deps.immutable, { tags, manifests, children }, deps.now);
  if (options.dryRun) {
    for (const tag of plan.tags) options.onTag?.(tag);
    for (const entry of plan.manifests) options.onManifest?.(entry.manifest);
    return { tags: plan.tags.length, manifests: plan.manifests.length };
  }
  let deletedTags = 0;
  for (const tag of plan.tags) {
    if (!(await deps.tags.deleteTagAt(tag.repository, tag.tag, tag.digest))) continue;
    deletedTags++;
    options.onTag?.(tag);
  }
  return { tags: deletedTags, manifests: await deleteManifests(deps.gc, plan.manifests, options.onManifest) };
}

/** In passes: an index goes before its children, a subject before its referrers, whatever the plan's order. */
async function deleteManifests(gc: GcIndex, planned: readonly ExpiredManifest[], onManifest?: (manifest: GcManifest) => void): Promise<number> {
  let pending = [...planned];
  let deleted = 0;
  for (;;) {
    const left: ExpiredManifest[] = [];
    for (const entry of pending) {
      if (await gc.deleteUntagged(entry.manifest.repository, entry.manifest.digest, entry.createdBefore)) {
        deleted++;
        onManifest?.(entry.manifest);
      } else {
        left.push(entry);
      }
    }
    if (left.length === pending.length) return deleted;
    pending = left;
  }
}

/** Retention as the gc scheduler's `beforeCollect`: applied now, its counts logged; blobs go in the collection that follows. */
export async function applyScheduledRetention(deps: Omit<RetentionDeps, 'now'> & { logger: Logger }): Promise<void> {
  const result = await applyRetention({ ...deps, now: new Date() }, { dryRun: false });
  deps.logger.info(result, 'retention applied before garbage collection');
}
