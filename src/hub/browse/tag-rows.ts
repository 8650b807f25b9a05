import type { RegistryService } from '../../registry/registry-service.ts';
import type { TagRow } from '../../web/api-types.ts';
import type { ManifestSummaries } from './manifest-summaries.ts';
import { summarizeManifest, summaryConfigBytes } from './manifest-summary.ts';
import { StoredManifests } from './stored-manifests.ts';

// Tags summarised at once: each may read an index, its children and their configs.
const concurrentTags = 8;

/**
 * The rows of a page of tags, in the page's order; a tag deleted meanwhile is left out. The page shares one read
 * budget (StoredManifests) and reads configs up to `summaryConfigBytes` only.
 */
export async function tagRows(registry: RegistryService, repository: string, tags: string[], summaries: ManifestSummaries): Promise<TagRow[]> {
  const stored = new StoredManifests(registry, repository, { maxConfigBytes: summaryConfigBytes });
  const rows: TagRow[] = [];
  for (let i = 0; i < tags.length; i += concurrentTags) {
    const batch = await Promise.all(tags.slice(i, i + concurrentTags).map(async (name): Promise<TagRow | undefined> => {
      const record = await stored.record(name);
      if (!record) return undefined;
      return { name, digest: record.digest, mediaType: record.mediaType, ...(await summarizeManifest(stored, record, summaries)) };
    }));
    for (const row of batch) if (row) rows.push(row);
  }
  return rows;
}
