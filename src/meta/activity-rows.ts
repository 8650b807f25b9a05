import type { ActivityAction, ActivityRow } from './activity-store.ts';
import type { GcRunRecord, GcRunState, GcTrigger } from './gc-run-store.ts';

/** A row of activity or gc_runs as either engine returns it: column name -> value. */
type Row = Record<string, unknown>;

export const activityColumns = 'id, at, action, repository, tag, digest, actor, event_count';
export const gcRunColumns = 'id, run_trigger, dry_run, started_at, finished_at, state, blobs_removed, bytes_freed, manifests_removed, error';

export function toActivity(row: Row): ActivityRow {
  return {
    id: Number(row.id),
    at: row.at as string,
    action: row.action as ActivityAction,
    repository: row.repository as string,
    tag: (row.tag as string | null) ?? undefined,
    digest: (row.digest as string | null) ?? undefined,
    actor: row.actor as string,
    count: Number(row.event_count),
  };
}

export function toGcRun(row: Row): GcRunRecord {
  return {
    id: Number(row.id),
    trigger: row.run_trigger as GcTrigger,
    dryRun: Number(row.dry_run) === 1,
    startedAt: row.started_at as string,
    finishedAt: (row.finished_at as string | null) ?? undefined,
    state: row.state as GcRunState,
    blobsRemoved: Number(row.blobs_removed),
    bytesFreed: Number(row.bytes_freed),
    manifestsRemoved: Number(row.manifests_removed),
    error: (row.error as string | null) ?? undefined,
  };
}

/** A list's upper bound on ids when the caller gave none. */
export const noIdBound = Number.MAX_SAFE_INTEGER;
