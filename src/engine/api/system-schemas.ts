import { z } from 'zod';
import { goString, goStruct } from './go-json.ts';
import { qFilters, qString } from './query-schema.ts';
import type { RouteSchema } from './router.ts';

/** moby daemon/events/filter.go: the keys an events filter may use. */
const eventFilterKeys = ['config', 'container', 'daemon', 'event', 'image', 'label', 'network', 'node', 'plugin', 'scope', 'secret', 'service', 'type', 'volume'];

/** One schema per system endpoint (system-routes.ts) and prune endpoint (prune-routes.ts). */
export const systemSchemas = {
  events: { query: z.object({ since: qString(), until: qString(), filters: qFilters(eventFilterKeys) }) },
  /** registry.AuthConfig. */
  auth: {
    body: goStruct('registry.AuthConfig', {
      username: goString(),
      password: goString(),
      auth: goString(),
      email: goString(),
      serveraddress: goString(),
      identitytoken: goString(),
      registrytoken: goString(),
    }),
  },
  containerPrune: { query: z.object({ filters: qFilters(['label', 'until']) }) },
  imagePrune: { query: z.object({ filters: qFilters(['dangling', 'label', 'label!', 'until']) }) },
} satisfies Record<string, RouteSchema>;
