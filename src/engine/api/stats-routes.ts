import { pipeline } from 'node:stream/promises';
import type { ContainerManager } from '../containers/container-manager.ts';
import { inputOf } from './route-schema.ts';
import type { Route } from './router.ts';
import { statsSchemas as schemas, updateRequest } from './stats-schemas.ts';

export interface StatsRouteDeps {
  containers: ContainerManager;
}

/** `docker stats` and `docker update`. */
export function statsRoutes(deps: StatsRouteDeps): Route[] {
  const { containers } = deps;
  return [
    {
      name: 'container-stats',
      method: 'GET',
      path: '/containers/{id}/stats',
      schema: schemas.stats,
      handle: async (ctx, res) => {
        const query = inputOf(schemas.stats, ctx).query;
        const lines = containers.stats(ctx.params.id, { stream: query.stream, oneShot: query['one-shot'] });
        res.writeHead(200, { 'Content-Type': 'application/json' });
        // The client going away ends the pipeline, which destroys the sampler.
        await pipeline(lines, res).catch(() => res.destroy());
        return 'streamed';
      },
    },
    {
      name: 'container-update',
      method: 'POST',
      path: '/containers/{id}/update',
      body: 'json',
      schema: schemas.update,
      handle: async (ctx) => ({ status: 200, json: await containers.update(ctx.params.id, updateRequest(inputOf(schemas.update, ctx).body)) }),
    },
  ];
}
