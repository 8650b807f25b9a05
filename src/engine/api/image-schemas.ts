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
      // Before API 1.41 a reference filter (version-gates.ts); moby ignores it from 1.41 on.
      filter: qString(),
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
      extrahosts: qList(),
      remote: qString(),
      q: qBool(),
      nocache: qBool(),
      cachefrom: qJson('cachefrom', (v) => Array.isArray(v) && v.every((x) => typeof x === 'string'), 'json: cannot unmarshal into Go value of type []string'),
      pull: qBool(),
      // httputils.BoolValue with moby's default: rm is on unless given and false.
      rm: qBool(true),
      forcerm: qBool(),
      memory: qInt64OrZero(),
      memswap: qInt64OrZero(),
      cpushares: qInt64OrZero(),
      cpusetcpus: qString(),
      cpusetmems: qString(),
      cpuperiod: qInt64OrZero(),
      cpuquota: qInt64OrZero(),
      cgroupparent: qString(),
      buildargs: qJson('buildargs', isNullableStringMap, 'error reading build args: json: cannot unmarshal into Go value of type map[string]*string'),
      shmsize: qInt(),
      squash: qBool(),
      labels: qJsonMap('labels'),
      networkmode: qString(),
      platform: qString(),
      target: qString(),
      outputs: qJson('outputs', (v) => Array.isArray(v) && v.every((x) => x !== null && typeof x === 'object' && !Array.isArray(x)), 'json: cannot unmarshal into Go value of type []types.ImageBuildOutput'),
      ulimits: qJson('ulimits', isUlimits, 'error reading ulimit settings: json: cannot unmarshal into Go value of type []*units.Ulimit'),
      isolation: qString(),
      securityopt: qList(),
      session: qString(),
      buildid: qString(),
      version: qString(),
    }),
  },
} satisfies Record<string, RouteSchema>;

/** A JSON-valued build parameter (`cachefrom`, `ulimits`…): absent or empty is undefined; other JSON is refused. */
function qJson(what: string, valid: (value: unknown) => boolean, message: string) {
  return qString().transform((text, ctx) => {
    if (text === undefined) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      ctx.addIssue({ code: 'custom', message: `${what} is not JSON` });
      return z.NEVER;
    }
    if (!valid(parsed)) {
      ctx.addIssue({ code: 'custom', message });
      return z.NEVER;
    }
    return parsed;
  });
}

/** httputils.Int64ValueOrZero: an integer, anything else (or nothing) 0. */
function qInt64OrZero() {
  return qString().transform((text) => (text && /^[+-]?\d+$/.test(text) && Number.isSafeInteger(Number(text)) ? Number(text) : 0));
}

function isNullableStringMap(value: unknown): boolean {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && Object.values(value).every((v) => v === null || typeof v === 'string');
}

function isUlimits(value: unknown): boolean {
  return Array.isArray(value) && value.every((u) => u !== null && typeof u === 'object' && typeof u.Name === 'string' && Number.isInteger(u.Soft ?? 0) && Number.isInteger(u.Hard ?? 0));
}
