import { Fault } from '../base/fault.ts';
import type { Descriptor, ManifestRecord, Page, UploadSession } from './metadata-store.ts';

/** A result row as either engine returns it: column name -> value. */
type Row = Record<string, unknown>;

/** The manifests table's columns, in the order toManifestRecord reads and both engines' INSERTs write. */
export const manifestColumns = 'repository, digest, media_type, size, artifact_type, subject, config, annotations, created_at';

/** Columns and FROM of the manifest a tag names (tags `t` joined to manifests `m`); each engine adds its WHERE. */
export const taggedManifestQuery = `${manifestColumns.split(', ').map((column) => `m.${column}`).join(', ')}
  FROM tags t JOIN manifests m ON m.repository = t.repository AND m.digest = t.digest`;

/** Annotations as stored: JSON, or NULL when there are none (so an empty map reads back as absent). */
export function annotationsText(annotations: Record<string, string> | undefined): string | null {
  return annotations && Object.keys(annotations).length > 0 ? JSON.stringify(annotations) : null;
}

export function childUnknown(repository: string, child: string): Fault {
  return new Fault('invalid-argument', `index references manifest ${child} unknown to ${repository}`, {
    code: 'MANIFEST_BLOB_UNKNOWN',
    detail: { digest: child },
  });
}

/**
 * PutManifestInput.tagMayNotMove, given where the tag points now (undefined: nowhere): DENIED when the write would
 * move it, as registry.immutableTags' own check before the write.
 */
export function refuseTagMove(repository: string, tag: string, current: string | undefined, digest: string): void {
  if (current === undefined || current === digest) return;
  throw new Fault('permission-denied', `tag ${repository}:${tag} points at ${current}: it may not move to ${digest}`, { code: 'DENIED' });
}

/** distribution-spec: `n` must be a non-negative integer; absent means no limit. */
export function pageSize(page: Page | undefined): number | undefined {
  const n = page?.n;
  if (n === undefined) return undefined;
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new Fault('invalid-argument', `invalid page size ${n}`, { code: 'PAGINATION_NUMBER_INVALID' });
  }
  return n;
}

/** A LIKE pattern (with `ESCAPE '\'`) matching names that hold `query` anywhere, its wildcards taken literally. */
export function containsPattern(query: string): string {
  return `%${query.replace(/[\\%_]/g, '\\$&')}%`;
}

export function toManifestRecord(row: Row): ManifestRecord {
  const record: ManifestRecord = {
    repository: row.repository as string,
    digest: row.digest as string,
    mediaType: row.media_type as string,
    size: row.size as number,
    createdAt: row.created_at as string,
  };
  if (row.artifact_type != null) record.artifactType = row.artifact_type as string;
  if (row.subject != null) record.subject = row.subject as string;
  if (row.config != null) record.config = row.config as string;
  if (row.annotations != null) record.annotations = JSON.parse(row.annotations as string) as Record<string, string>;
  return record;
}

export function toDescriptor(row: Row): Descriptor {
  const descriptor: Descriptor = {
    mediaType: row.media_type as string,
    digest: row.digest as string,
    size: row.size as number,
  };
  if (row.artifact_type != null) descriptor.artifactType = row.artifact_type as string;
  if (row.annotations != null) descriptor.annotations = JSON.parse(row.annotations as string) as Record<string, string>;
  return descriptor;
}

export function toUploadSession(row: Row): UploadSession {
  return { id: row.id as string, repository: row.repository as string, startedAt: row.started_at as string };
}
