import { renderRuntimeConfig, type ImageConfig } from '../images/image-config.ts';
import type { ImageRecord, ImageStore } from '../images/image-store.ts';
import { versionAtLeast } from './api-version.ts';

/** `GET /images/json` item (ImageSummary). From 1.44 `VirtualSize` is gone and untagged images list `[]`. */
export function imageSummary(store: ImageStore, image: ImageRecord, config: ImageConfig, version: string): Record<string, unknown> {
  const tags = store.familiarTags(image.id);
  const digests = store.familiarDigests(image.id);
  const modern = versionAtLeast(version, '1.44');
  return {
    Containers: -1,
    Created: unixSeconds(config.created),
    Id: image.id,
    Labels: config.config?.Labels ?? null,
    ParentId: '',
    RepoDigests: digests.length || modern ? digests : ['<none>@<none>'],
    RepoTags: tags.length || modern ? tags : ['<none>:<none>'],
    SharedSize: -1,
    Size: image.size,
    ...(modern ? {} : { VirtualSize: image.size }),
  };
}

/** `GET /images/{name}/json` (ImageInspect). */
export function imageInspect(
  store: ImageStore,
  image: ImageRecord,
  config: ImageConfig,
  options: { version: string },
): Record<string, unknown> {
  const modern = versionAtLeast(options.version, '1.44');
  return {
    Id: image.id,
    RepoTags: store.familiarTags(image.id),
    RepoDigests: store.familiarDigests(image.id),
    Parent: '',
    Comment: config.comment ?? '',
    Created: config.created ?? '0001-01-01T00:00:00Z',
    ...(versionAtLeast(options.version, '1.45') ? {} : { Container: '', ContainerConfig: renderRuntimeConfig(null) }),
    DockerVersion: config.docker_version ?? '',
    Author: config.author ?? '',
    Config: renderRuntimeConfig(config.config),
    Architecture: config.architecture,
    ...(config.variant ? { Variant: config.variant } : {}),
    Os: config.os,
    Size: image.size,
    ...(modern ? {} : { VirtualSize: image.size }),
    // Layers are snapshots named by chainID, not directories of a graph driver (as with moby's containerd store).
    GraphDriver: { Name: 'overlay2', Data: {} },
    RootFS: { Type: 'layers', Layers: config.rootfs.diff_ids },
    Metadata: { LastTagTime: image.lastTagTime ?? '0001-01-01T00:00:00Z' },
  };
}

export function unixSeconds(iso: string | undefined): number {
  const ms = iso ? Date.parse(iso) : NaN;
  return Number.isNaN(ms) ? 0 : Math.floor(ms / 1000);
}
