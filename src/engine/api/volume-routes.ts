import { Fault } from '../../base/fault.ts';
import type { VolumeRecord } from '../volumes/volume-record.ts';
import type { VolumeService } from '../volumes/volume-service.ts';
import { matchesLabels } from './query.ts';
import { inputOf } from './route-schema.ts';
import type { ApiContext, Reply, Route } from './router.ts';
import { volumeSchemas as schemas } from './volume-schemas.ts';

export interface VolumeRouteDeps {
  volumes: VolumeService;
}

/** `docker volume create|ls|inspect|rm` (prune is with the other prunes). */
export function volumeRoutes(deps: VolumeRouteDeps): Route[] {
  const { volumes } = deps;
  return [
    { name: 'volume-list', method: 'GET', path: '/volumes', schema: schemas.list, handle: async (ctx) => listVolumes(volumes, ctx) },
    { name: 'volume-create', method: 'POST', path: '/volumes/create', body: 'json', schema: schemas.create, handle: async (ctx) => createVolume(volumes, ctx) },
    {
      name: 'volume-inspect',
      method: 'GET',
      path: '/volumes/{name}',
      handle: async (ctx) => ({ status: 200, json: volumeJson(volumes, volumes.get(ctx.params.name)) }),
    },
    {
      name: 'volume-delete',
      method: 'DELETE',
      path: '/volumes/{name}',
      schema: schemas.delete,
      handle: async (ctx) => (await volumes.remove(ctx.params.name, { force: inputOf(schemas.delete, ctx).query.force }), { status: 204 }),
    },
  ];
}

/** moby's volume.Volume. */
export function volumeJson(volumes: VolumeService, record: VolumeRecord): Record<string, unknown> {
  return {
    CreatedAt: record.createdAt,
    Driver: record.driver,
    Labels: record.labels,
    Mountpoint: volumes.mountpoint(record.name),
    Name: record.name,
    Options: Object.keys(record.options).length ? record.options : null,
    Scope: 'local',
  };
}

async function createVolume(volumes: VolumeService, ctx: ApiContext): Promise<Reply> {
  const body = inputOf(schemas.create, ctx).body;
  const record = await volumes.create({ name: body?.Name, driver: body?.Driver, labels: body?.Labels ?? {}, options: body?.DriverOpts ?? {} });
  return { status: 201, json: volumeJson(volumes, record) };
}

/** moby volume/service: `name` matches a substring, `driver` exactly, `dangling` volumes no container uses. */
function listVolumes(volumes: VolumeService, ctx: ApiContext): Reply {
  const { filters } = inputOf(schemas.list, ctx).query;
  const dangling = filters.get('dangling')?.map((value) => {
    if (!['true', '1', 'false', '0'].includes(value)) throw new Fault('invalid-argument', `invalid filter 'dangling=${value}'`);
    return value === 'true' || value === '1';
  });
  const names = filters.get('name');
  const drivers = filters.get('driver');
  const out = volumes.list().filter((v) => {
    if (names?.length && !names.some((n) => v.name.includes(n))) return false;
    if (drivers?.length && !drivers.includes(v.driver)) return false;
    if (dangling?.length && !dangling.includes(volumes.usersOf(v.name).length === 0)) return false;
    return matchesLabels(v.labels, filters.get('label'));
  });
  return { status: 200, json: { Volumes: out.map((v) => volumeJson(volumes, v)), Warnings: null } };
}
