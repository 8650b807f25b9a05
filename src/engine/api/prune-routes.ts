import { Fault, isFault } from '../../base/fault.ts';
import type { Logger } from '../../base/log.ts';
import type { EventLog } from '../events.ts';
import { pruneImages as imagePrune } from '../images/image-prune.ts';
import type { ContainerManager } from '../containers/container-manager.ts';
import type { ImageService } from '../images/image-service.ts';
import type { VolumeService } from '../volumes/volume-service.ts';
import { containerSummary } from './container-json.ts';
import { imageSummary } from './image-json.ts';
import { matchesLabels, parseTimestamp } from './query.ts';
import { inputOf } from './route-schema.ts';
import { systemSchemas as schemas } from './system-schemas.ts';
import type { ApiContext, Reply, Route } from './router.ts';
import { volumeJson } from './volume-routes.ts';
import { volumeSchemas } from './volume-schemas.ts';

export interface PruneRouteDeps {
  images: ImageService;
  containers: ContainerManager;
  volumes: VolumeService;
  events: EventLog;
  logger: Logger;
}

/**
 * `docker system df`, `docker container prune`, `docker image prune`, and the rest of `docker system prune`
 * (network prune: network-routes.ts; build cache prune: build-prune-routes.ts).
 */
export function pruneRoutes(deps: PruneRouteDeps): Route[] {
  return [
    { name: 'system-df', method: 'GET', path: '/system/df', handle: (ctx) => diskUsage(deps, ctx) },
    { name: 'container-prune', method: 'POST', path: '/containers/prune', schema: schemas.containerPrune, handle: (ctx) => pruneContainers(deps, ctx) },
    { name: 'image-prune', method: 'POST', path: '/images/prune', schema: schemas.imagePrune, handle: (ctx) => pruneImages(deps, ctx) },
    { name: 'volume-prune', method: 'POST', path: '/volumes/prune', schema: volumeSchemas.prune, handle: (ctx) => pruneVolumes(deps, ctx) },
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

/** moby's ImagePrune: dangling images, or (dangling=false, `docker image prune -a`) every image no container uses. */
async function pruneImages(deps: PruneRouteDeps, ctx: ApiContext): Promise<Reply> {
  const { filters } = inputOf(schemas.imagePrune, ctx).query;
  const dangling = filters.get('dangling')?.[0];
  const labels = filters.get('label');
  const notLabels = filters.get('label!');
  const report = await imagePrune(deps.images, {
    danglingOnly: dangling === undefined ? true : goBool('dangling', dangling),
    until: pruneUntil(filters),
    // moby's matchLabels: every `label` matches, and not every `label!` does.
    labels: (l) => matchesLabels(l, labels) && !(notLabels?.length && matchesLabels(l, notLabels)),
    logger: deps.logger,
  });
  deps.events.emit('image', 'prune', { id: '', attributes: { reclaimed: String(report.reclaimed) } });
  return { status: 200, json: { ImagesDeleted: report.deleted.length ? report.deleted : null, SpaceReclaimed: report.reclaimed } };
}

/** moby's filters.GetBoolOrDefault: true/1 or false/0 (any case), anything else refused by name. */
function goBool(key: string, value: string): boolean {
  const lower = value.toLowerCase();
  if (lower === 'true' || lower === '1') return true;
  if (lower === 'false' || lower === '0') return false;
  throw new Fault('invalid-argument', `invalid filter '${key}=${value}'`);
}

/** moby's getUntilFromPruneFilters: one `until` at most, a timestamp or a duration before now. */
export function pruneUntil(filters: Map<string, string[]>): number | undefined {
  const values = filters.get('until');
  if (!values?.length) return undefined;
  if (values.length > 1) throw new Fault('invalid-argument', 'more than one until filter specified');
  try {
    return parseTimestamp(values[0], Date.now());
  } catch (err) {
    throw new Fault('invalid-argument', `invalid value for 'until' filter: ${(err as Error).message}`, { cause: err });
  }
}
