import { z } from 'zod';
import { goString, goStringMap, goStruct } from './go-json.ts';
import { qBool, qFilters } from './query-schema.ts';
import type { RouteSchema } from './router.ts';

/** One schema per volume endpoint (volume-routes.ts, and volume prune in prune-routes.ts). */
export const volumeSchemas = {
  list: { query: z.object({ filters: qFilters(['dangling', 'name', 'label', 'driver']) }) },
  /** volume.CreateOptions (a cluster volume spec is for swarm, which this engine is not). */
  create: {
    body: goStruct('volume.CreateOptions', {
      Name: goString(),
      Driver: goString(),
      DriverOpts: goStringMap(),
      Labels: goStringMap(),
    }),
  },
  delete: { query: z.object({ force: qBool() }) },
  prune: { query: z.object({ filters: qFilters(['label', 'all']) }) },
} satisfies Record<string, RouteSchema>;
