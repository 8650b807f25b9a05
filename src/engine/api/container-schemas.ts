import { z } from 'zod';
import { containerConfigFields, containerCreateBody } from './container-create-schema.ts';
import { goStruct } from './go-json.ts';
import { qBool, qEnum, qFilters, qInt, qList, qString, qUint32 } from './query-schema.ts';
import type { RouteSchema } from './router.ts';

/** `docker ps` filters moby knows (daemon/list.go acceptedPsFilterTags). */
export const containerFilterKeys = ['status', 'name', 'id', 'label', 'ancestor', 'exited', 'before', 'since', 'is-task', 'health', 'network', 'volume', 'publish', 'expose'];

const stopQuery = z.object({ t: qInt(), signal: qString() });
const resizeQuery = z.object({ h: qUint32('resize height'), w: qUint32('resize width') });
const streamsQuery = { stdin: qBool(), stdout: qBool(), stderr: qBool(), stream: qBool(), logs: qBool(), detachKeys: qString() };

/** container.Config as `docker commit --change`'s body carries it (moby decodes it into the same struct). */
const commitConfigBody = goStruct('container.Config', containerConfigFields);

/** One schema per container endpoint (container-routes.ts), applied by the dispatcher before the handler. */
export const containerSchemas = {
  list: { query: z.object({ all: qBool(), limit: qInt(), size: qBool(), filters: qFilters(containerFilterKeys) }) },
  create: { query: z.object({ name: qString(), platform: qString() }), body: containerCreateBody },
  inspect: { query: z.object({ size: qBool() }) },
  logs: {
    query: z.object({
      stdout: qBool(),
      stderr: qBool(),
      follow: qBool(),
      timestamps: qBool(),
      details: qBool(),
      since: qString(),
      until: qString(),
      tail: qString(),
    }),
  },
  top: { query: z.object({ ps_args: qString() }) },
  commit: {
    query: z.object({
      container: qString(),
      repo: qString(),
      tag: qString(),
      comment: qString(),
      author: qString(),
      pause: qBool(true),
      changes: qList(),
    }),
    body: commitConfigBody,
  },
  stop: { query: stopQuery },
  restart: { query: stopQuery },
  kill: { query: z.object({ signal: qString() }) },
  rename: { query: z.object({ name: qString() }) },
  resize: { query: resizeQuery },
  wait: {
    query: z.object({
      condition: qEnum(['not-running', 'next-exit', 'removed'] as const, (value) => `invalid condition: ${JSON.stringify(value)}`),
    }),
  },
  attach: { query: z.object(streamsQuery) },
  delete: { query: z.object({ force: qBool(), v: qBool(), link: qBool() }) },
} satisfies Record<string, RouteSchema>;
