import { z } from 'zod';
import { Fault } from '../../base/fault.ts';
import type { Logger } from '../../base/log.ts';
import type { ImageService } from '../images/image-service.ts';
import { pruneBuildCache } from '../images/image-prune.ts';
import { parseTimestamp } from './query.ts';
import { qBool, qFilters, qString } from './query-schema.ts';
import { inputOf } from './route-schema.ts';
import type { ApiContext, Reply, Route, RouteSchema } from './router.ts';

/** POST /build/prune at API 1.44: `keep-storage` is the only size limit before 1.48. */
export const buildPruneSchemas = {
  prune: {
    query: z.object({
      all: qBool(),
      'keep-storage': qString(),
      filters: qFilters(['until', 'unused-for']),
    }),
  },
} satisfies Record<string, RouteSchema>;

export interface BuildPruneRouteDeps {
  images: ImageService;
  logger: Logger;
}

/**
 * `docker builder prune [-a] [--filter until=…] [--keep-storage N]`: the classic builder's cache is its step images
 * (image-prune.ts says which go); the answer names each removed image ID in CachesDeleted.
 */
export function buildPruneRoutes(deps: BuildPruneRouteDeps): Route[] {
  return [{ name: 'build-prune', method: 'POST', path: '/build/prune', schema: buildPruneSchemas.prune, handle: (ctx) => pruneCache(deps, ctx) }];
}

async function pruneCache(deps: BuildPruneRouteDeps, ctx: ApiContext): Promise<Reply> {
  const { all, filters, 'keep-storage': keepStorage } = inputOf(buildPruneSchemas.prune, ctx).query;
  const report = await pruneBuildCache(deps.images, { all, until: cacheUntil(filters), keep: bytesParam('keep-storage', keepStorage), logger: deps.logger });
  return { status: 200, json: { CachesDeleted: report.deleted.length ? report.deleted : null, SpaceReclaimed: report.reclaimed } };
}

/** moby's toBuildkitPruneInfo: `until` or its older synonym `unused-for`, one value, a duration or a timestamp. */
function cacheUntil(filters: Map<string, string[]>): number | undefined {
  const until = filters.get('until') ?? [];
  const unusedFor = filters.get('unused-for') ?? [];
  if (until.length && unusedFor.length) throw new Fault('invalid-argument', 'conflicting filters: "until" and "unused-for"');
  const values = [...until, ...unusedFor];
  if (!values.length) return undefined;
  if (values.length > 1) throw new Fault('invalid-argument', 'filters expect only one value');
  try {
    return parseTimestamp(values[0], Date.now());
  } catch (err) {
    const key = until.length ? 'until' : 'unused-for';
    throw new Fault('invalid-argument', `"${key}" filter expects a duration (e.g., '24h') or a timestamp: ${(err as Error).message}`, { cause: err });
  }
}

/** moby's parseBytesFromFormValue; 0 or absent means no limit. */
function bytesParam(name: string, value: string | undefined): number | undefined {
  if (!value) return undefined;
  if (!/^[+-]?\d+$/.test(value)) {
    throw new Fault('invalid-argument', `${name} is in bytes and expects an integer, got ${value}: strconv.Atoi: parsing ${JSON.stringify(value)}: invalid syntax`);
  }
  const bytes = Number(value);
  return bytes === 0 ? undefined : bytes;
}
