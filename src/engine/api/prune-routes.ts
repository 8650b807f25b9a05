import { isFault } from '../../base/fault.ts';
import type { ContainerManager } from '../containers/container-manager.ts';
import type { ImageService } from '../images/image-service.ts';
import type { VolumeService } from '../volumes/volume-service.ts';
import { containerSummary } from './container-json.ts';
import { imageSummary } from './image-json.ts';
import { matchesLabels } from './query.ts';
import { inputOf } from './route-schema.ts';
import { systemSchemas as schemas } from './system-schemas.ts';
import type { ApiContext, Reply, Route } from './router.ts';
import { volumeJson } from './volume-routes.ts';
import { volumeSchemas } from './volume-schemas.ts';

export interface PruneRouteDeps {
  images: ImageService;
  containers: ContainerManager;
  volumes: VolumeService;
}

/** `docker system df`, `docker container prune`, `docker image prune`, and the rest of `docker system prune`. */
export function pruneRoutes(deps: PruneRouteDeps): Route[] {
  return [
    { name: 'system-df', method: 'GET', path: '/system/df', handle: (ctx) => diskUsage(deps, ctx) },
    { name: 'container-prune', method: 'POST', path: '/containers/prune', schema: schemas.containerPrune, handle: (ctx) => pruneContainers(deps, ctx) },
    { name: 'image-prune', method: 'POST', path: '/images/prune', schema: schemas.imagePrune, handle: (ctx) => pruneImages(deps, ctx) },
    { name: 'volume-prune', method: 'POST', path: '/volumes/prune', schema: volumeSchemas.prune, handle: (ctx) => pruneVolumes(deps, ctx) },
    // No build cache exists here: nothing to prune, answered as moby answers it (network prune: network-routes.ts).
    { name: 'build-prune', method: 'POST', path: '/build/prune', handle: async () => ({ status: 200, json: { CachesDeleted: null, SpaceReclaimed: 0 } }) },
  ];
}

async function diskUsage(deps: PruneRouteDeps, ctx: ApiContext): Promise<Reply> {
  const store = deps.images.store;
  const images = [];
  for (const image of store.list()) {
    const summary = imageSummary(store, image, await store.config(image.id), ctx.version);
    images.push({ ...summary, Containers: deps.containers.usersOf(image.id).length });
  }
  const now = Date.now();
  const containers = deps.containers.store.list().map((c) => containerSummary(c, { now, size: { rw: 0, rootFs: 0 } }));
  const layers = new Map(store.list().flatMap((i) => i.layers.map((l) => [l.chainId, l.size] as const)));
  const layersSize = [...layers.values()].reduce((sum, size) => sum + size, 0);
  return { status: 200, json: { LayersSize: layersSize, Images: images, Containers: containers, Volumes: await volumeUsage(deps.volumes), BuildCache: [] } };
}

/** Each volume with UsageData (`docker system df` panics without it): bytes used and how many containers use it. */
async function volumeUsage(volumes: VolumeService): Promise<Record<string, unknown>[]> {
  const out = [];
  for (const record of volumes.list()) {
    out.push({ ...volumeJson(volumes, record), UsageData: { Size: await volumes.size(record.name), RefCount: volumes.usersOf(record.name).length } });
  }
  return out;
}

/** moby API 1.42+: unused anonymous volumes, or (`all=true`) every unused volume; label filters honoured. */
async function pruneVolumes(deps: PruneRouteDeps, ctx: ApiContext): Promise<Reply> {
  const { filters } = inputOf(volumeSchemas.prune, ctx).query;
  const all = ['true', '1'].includes(filters.get('all')?.[0] ?? 'false');
  const deleted: string[] = [];
  let reclaimed = 0;
  for (const record of deps.volumes.list()) {
    if ((!all && !record.anonymous) || deps.volumes.usersOf(record.name).length) continue;
    if (!matchesLabels(record.labels, filters.get('label'))) continue;
    const size = await deps.volumes.size(record.name);
    try {
      await deps.volumes.remove(record.name);
    } catch (err) {
      // A container took it meanwhile: it is no longer unused.
      if (isFault(err, 'conflict')) continue;
      throw err;
    }
    deleted.push(record.name);
    reclaimed += Math.max(size, 0);
  }
  return { status: 200, json: { VolumesDeleted: deleted.length ? deleted : null, SpaceReclaimed: reclaimed } };
}

/** Removes stopped containers (label filters honoured). */
async function pruneContainers(deps: PruneRouteDeps, ctx: ApiContext): Promise<Reply> {
  const { filters } = inputOf(schemas.containerPrune, ctx).query;
  const deleted: string[] = [];
  for (const record of deps.containers.store.list()) {
    if (record.state.Running || !matchesLabels(record.config.Labels, filters.get('label'))) continue;
    await deps.containers.remove(record.id);
    deleted.push(record.id);
  }
  return { status: 200, json: { ContainersDeleted: deleted.length ? deleted : null, SpaceReclaimed: 0 } };
}

/** Removes dangling images, or (dangling=false, `docker image prune -a`) every image no container uses. */
async function pruneImages(deps: PruneRouteDeps, ctx: ApiContext): Promise<Reply> {
  const { filters } = inputOf(schemas.imagePrune, ctx).query;
  const danglingOnly = !['false', '0'].includes(filters.get('dangling')?.[0] ?? 'true');
  const store = deps.images.store;
  const deleted: Record<string, string>[] = [];
  let reclaimed = 0;
  for (const image of store.list()) {
    if (deps.containers.usersOf(image.id).length) continue;
    if (danglingOnly && store.tags(image.id).length) continue;
    if (!matchesLabels((await store.config(image.id)).config?.Labels, filters.get('label'))) continue;
    deleted.push(...(await deps.images.remove(image.id, { force: true })));
    reclaimed += image.size;
  }
  return { status: 200, json: { ImagesDeleted: deleted.length ? deleted : null, SpaceReclaimed: reclaimed } };
}
