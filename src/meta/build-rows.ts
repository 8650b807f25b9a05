import type { AutobuildRecord, BuildRecord, BuildState, BuildTrigger } from './build-store.ts';

/** The columns of a build as both engines select them. */
export const buildColumns = 'b.id, b.autobuild, b.repository, b.ref, b.commit_sha, b.trigger_kind, b.state, b.queued_at, b.started_at, b.finished_at, b.heartbeat_at, b.tags, b.digest, b.error';

type Row = Record<string, unknown>;
const text = (value: unknown) => (value === null || value === undefined ? undefined : String(value));

export function autobuildFromRow(row: Row): AutobuildRecord {
  return {
    id: String(row.id),
    repository: String(row.repository),
    git: String(row.git),
    ref: String(row.ref),
    dockerfile: String(row.dockerfile),
    context: String(row.context),
    tag: String(row.tag),
    secret: String(row.secret),
    createdAt: String(row.created_at),
  };
}

export function buildFromRow(row: Row): BuildRecord {
  const optional = {
    commit: text(row.commit_sha),
    startedAt: text(row.started_at),
    finishedAt: text(row.finished_at),
    heartbeatAt: text(row.heartbeat_at),
    digest: text(row.digest),
    error: text(row.error),
  };
  return {
    id: String(row.id),
    autobuildId: String(row.autobuild),
    repository: String(row.repository),
    ref: String(row.ref),
    trigger: String(row.trigger_kind) as BuildTrigger,
    state: String(row.state) as BuildState,
    queuedAt: String(row.queued_at),
    tags: JSON.parse(String(row.tags)) as string[],
    ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)),
  };
}
