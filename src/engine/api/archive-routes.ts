import type { ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { ContainerArchive, PathStat } from '../containers/container-archive.ts';
import { archiveSchemas as schemas } from './archive-schemas.ts';
import { requestBody } from './request-body.ts';
import { inputOf } from './route-schema.ts';
import type { ApiContext, Reply, Route } from './router.ts';

export interface ArchiveRouteDeps {
  archive: ContainerArchive;
}

/** docker cp: moby's archive endpoints (api/server/router/container/copy.go). */
export function archiveRoutes({ archive }: ArchiveRouteDeps): Route[] {
  return [
    // HEAD is routed here too: the stat alone.
    { name: 'container-archive-get', method: 'GET', path: '/containers/{id}/archive', schema: schemas.stat, handle: (ctx, res) => read(archive, ctx, res) },
    { name: 'container-archive-put', method: 'PUT', path: '/containers/{id}/archive', body: 'raw', schema: schemas.extract, handle: (ctx) => extract(archive, ctx) },
    // moby answers the pre-1.20 copy endpoint with a bare 404 from API 1.24 on, the floor of what this engine accepts.
    { name: 'container-copy', method: 'POST', path: '/containers/{id}/copy', schema: schemas.copy, handle: async () => ({ status: 404 }) },
  ];
}

function statHeader(stat: PathStat): Record<string, string> {
  return { 'X-Docker-Container-Path-Stat': Buffer.from(JSON.stringify(stat)).toString('base64') };
}

async function read(archive: ContainerArchive, ctx: ApiContext, res: ServerResponse): Promise<Reply> {
  const path = inputOf(schemas.stat, ctx).query.path!;
  if (ctx.method === 'HEAD') return { status: 200, headers: statHeader(await archive.stat(ctx.params.id, path)) };
  const { stat, tar } = await archive.read(ctx.params.id, path);
  res.writeHead(200, { 'Content-Type': 'application/x-tar', ...statHeader(stat) });
  // A client that hangs up destroys the tar (and its tool), which releases the container's filesystem.
  await pipeline(tar, res).catch(() => res.destroy());
  return 'streamed';
}

async function extract(archive: ContainerArchive, ctx: ApiContext): Promise<Reply> {
  const { path, noOverwriteDirNonDir, copyUIDGID } = inputOf(schemas.extract, ctx).query;
  await archive.extract(ctx.params.id, path!, requestBody(ctx.req), { noOverwriteDirNonDir, copyUIDGID });
  return { status: 200 };
}
