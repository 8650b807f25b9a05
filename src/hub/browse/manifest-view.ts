import type { ManifestRecord } from '../../meta/metadata-store.ts';
import { configMediaTypes } from '../../oci/media-types.ts';
import type { RegistryService } from '../../registry/registry-service.ts';
import type { ChildRow, ImageConfigView, ManifestView, ReferrerRow } from '../../web/api-types.ts';
import type { ManifestSummaries } from './manifest-summaries.ts';
import { childPlatform, createdAt, summarizeManifest } from './manifest-summary.ts';
import type { StoredImageConfig } from './stored-json.ts';
import { StoredManifests } from './stored-manifests.ts';

/** Tags and referrers listed at most (the rest are counted: `tagsTotal`, `referrersTotal`). */
export const maxListed = 100;

/** Everything the manifest page shows (GET /api/v1/manifest): layers, config, children, referrers, tags. */
export async function buildManifestView(registry: RegistryService, record: ManifestRecord, actions: string[], summaries: ManifestSummaries): Promise<ManifestView> {
  const stored = new StoredManifests(registry, record.repository);
  const shape = await stored.shape(record.digest);
  const [summary, config, tags, referrers] = await Promise.all([
    summarizeManifest(stored, record, summaries, shape),
    stored.config(shape.config),
    registry.meta.tagsOf(record.repository, record.digest),
    registry.referrers(record.repository, record.digest),
  ]);
  return {
    repository: record.repository,
    digest: record.digest,
    mediaType: record.mediaType,
    // The registry records an image's config type as its artifact type (the referrers API's rule); here an image is none.
    artifactType: record.artifactType && !configMediaTypes.includes(record.artifactType) ? record.artifactType : null,
    size: summary.size,
    ...(summary.partial ? { partial: summary.partial } : {}),
    tags: tags.slice(0, maxListed),
    ...(tags.length > maxListed ? { tagsTotal: tags.length } : {}),
    layers: shape.layers.map(({ digest, mediaType, size }) => ({ digest, mediaType, size })),
    config: config && shape.config ? configView(shape.config.digest, config) : null,
    children: shape.manifests.map((child): ChildRow => ({
      digest: child.digest,
      mediaType: child.mediaType,
      size: child.size,
      platform: childPlatform(child) ?? null,
    })),
    ...(referrers.manifests.length > maxListed ? { referrersTotal: referrers.manifests.length } : {}),
    referrers: referrers.manifests.slice(0, maxListed).map((referrer): ReferrerRow => ({
      digest: referrer.digest,
      mediaType: referrer.mediaType,
      artifactType: referrer.artifactType ?? null,
      size: referrer.size,
      annotations: referrer.annotations ?? {},
    })),
    actions,
  };
}

function configView(digest: string, config: StoredImageConfig): ImageConfigView {
  const run = config.config ?? {};
  return {
    digest,
    ...defined({ created: createdAt(config), os: config.os, architecture: config.architecture, variant: config.variant }),
    ...defined({ user: run.User || undefined, workingDir: run.WorkingDir || undefined }),
    env: run.Env ?? [],
    cmd: run.Cmd ?? null,
    entrypoint: run.Entrypoint ?? null,
    labels: run.Labels ?? {},
    exposedPorts: Object.keys(run.ExposedPorts ?? {}).sort(),
    history: config.history.map((row) => ({
      ...defined({ created: row.created, createdBy: row.created_by, comment: row.comment }),
      emptyLayer: row.empty_layer === true,
    })),
  };
}

/** The entries whose value is set: JSON leaves optional fields out rather than writing undefined. */
function defined<T extends Record<string, string | undefined>>(fields: T): Partial<Record<keyof T, string>> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as Partial<Record<keyof T, string>>;
}
