import { renderRuntimeConfig, type ImageConfig } from '../images/image-config.ts';
import type { ImageRecord, ImageStore } from '../images/image-store.ts';
import { imageInspectForVersion, imageSummaryForVersion } from './version-gates.ts';

/** `GET /images/json` item (ImageSummary), with the request version's fields (version-gates.ts). */
export function imageSummary(
  store: ImageStore,
  image: ImageRecord,
  config: ImageConfig,
  version: string,
  shown: { tags: string[]; digests: string[] } = { tags: store.familiarTags(image.id), digests: store.familiarDigests(image.id) },
): Record<string, unknown> {
  const { tags, digests } = shown;
  return imageSummaryForVersion({
    Containers: -1,
    Created: unixSeconds(config.created),
    Id: image.id,
    Labels: config.config?.Labels ?? null,
    ParentId: image.parent ?? '',
    RepoDigests: digests,
    RepoTags: tags,
    SharedSize: -1,
    Size: image.size,
  }, version);
}

/** `GET /images/{name}/json` (ImageInspect), with the request version's fields (version-gates.ts). */
export function imageInspect(
  store: ImageStore,
  image: ImageRecord,
  config: ImageConfig,
  options: { version: string },
): Record<string, unknown> {
  return imageInspectForVersion({
    Id: image.id,
    RepoTags: store.familiarTags(image.id),
    RepoDigests: store.familiarDigests(image.id),
    Parent: image.parent ?? '',
    Comment: config.comment ?? '',
    Created: config.created ?? '0001-01-01T00:00:00Z',
    // moby drops these at 1.45, above any version this engine accepts.
    Container: '',
    ContainerConfig: renderRuntimeConfig(null),
    DockerVersion: config.docker_version ?? '',
    Author: config.author ?? '',
    Config: renderRuntimeConfig(config.config),
    Architecture: config.architecture,
    ...(config.variant ? { Variant: config.variant } : {}),
    Os: config.os,
    Size: image.size,
    // Layers are snapshots named by chainID, not directories of a graph driver (as with moby's containerd store).
    GraphDriver: { Name: 'overlay2', Data: {} },
    RootFS: { Type: 'layers', Layers: config.rootfs.diff_ids },
    Metadata: { LastTagTime: image.lastTagTime ?? '0001-01-01T00:00:00Z' },
  }, options.version);
}

export function unixSeconds(iso: string | undefined): number {
  const ms = iso ? Date.parse(iso) : NaN;
  return Number.isNaN(ms) ? 0 : Math.floor(ms / 1000);
}
