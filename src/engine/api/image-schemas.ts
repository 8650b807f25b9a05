import { z } from 'zod';
import { qBool, qFilters, qInt, qJsonMap, qList, qString } from './query-schema.ts';
import type { RouteSchema } from './router.ts';

/** One schema per image endpoint (image-routes.ts) and for the legacy builder (build-routes.ts). */
export const imageSchemas = {
  list: {
    query: z.object({
      all: qBool(),
      digests: qBool(),
      'shared-size': qBool(),
      manifests: qBool(),
      filters: qFilters(['reference', 'dangling', 'label', 'before', 'since', 'until']),
    }),
  },
  create: {
    query: z.object({
      fromImage: qString(),
      fromSrc: qString(),
      repo: qString(),
      tag: qString(),
      message: qString(),
      platform: qString(),
      changes: qList(),
    }),
  },
  search: { query: z.object({ term: qString(), limit: qInt(), filters: qFilters(['is-official', 'is-automated', 'stars']) }) },
  save: { query: z.object({ names: qList(), platform: qString() }) },
  load: { query: z.object({ quiet: qBool(), platform: qString() }) },
  tag: { query: z.object({ repo: qString(), tag: qString() }) },
  push: { query: z.object({ tag: qString(), platform: qString() }) },
  delete: { query: z.object({ force: qBool(), noprune: qBool() }) },
  build: {
    query: z.object({
      dockerfile: qString(),
      t: qList(),
      buildargs: qJsonMap('buildargs'),
      labels: qJsonMap('labels'),
      q: qBool(),
      networkmode: qString(),
      remote: qString(),
      target: qString(),
    }),
  },
} satisfies Record<string, RouteSchema>;
