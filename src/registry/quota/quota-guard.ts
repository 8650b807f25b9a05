import { Fault } from '../../base/fault.ts';
import type { MetadataStore } from '../../meta/metadata-store.ts';

/** The namespace a repository's bytes count against: the first component of its name. */
export function namespaceOf(repository: string): string {
  const slash = repository.indexOf('/');
  return slash < 0 ? repository : repository.slice(0, slash);
}

/**
 * Refuses content that would take a namespace over its quota. Called where bytes become the namespace's (a blob
 * upload's commit, a mount, a manifest's own bytes), before the link is written; content the namespace already
 * holds costs nothing. A namespace without a quota costs one lookup.
 */
export async function admitToNamespace(meta: MetadataStore, repository: string, blobs: readonly { digest: string; size: number }[]): Promise<void> {
  const namespace = namespaceOf(repository);
  const limit = await meta.getQuota(namespace);
  if (limit === undefined) return;
  let needed = 0;
  const seen = new Set<string>();
  for (const blob of blobs) {
    if (seen.has(blob.digest)) continue;
    seen.add(blob.digest);
    if (!(await meta.namespaceHolds(namespace, blob.digest))) needed += blob.size;
  }
  if (needed === 0) return;
  const used = await meta.namespaceUsage(namespace);
  if (used + needed <= limit) return;
  throw new Fault('permission-denied', `quota exceeded: namespace ${namespace} uses ${used} of ${limit} bytes, this push needs ${needed} more`, {
    code: 'DENIED',
    detail: { namespace, used, limit, needed },
  });
}
