import { z } from 'zod';
import { Fault } from '../../base/fault.ts';
import { qBool } from './query-schema.ts';
import { inputOf } from './route-schema.ts';
import type { ApiContext, Route } from './router.ts';

/**
 * This engine is never part of a swarm, so the swarm API answers as a dockerd that is not in one. Client libraries
 * probe `/swarm` or `/services` and move on when they get the 503 (docker-py, the CLI's `docker info`, compose).
 */
// moby daemon/cluster/cluster.go errNoManager, for a node with no swarm node running.
export const notSwarmManager =
  'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';
// moby daemon/cluster/errors.go errNoSwarm: what leaving answers when there is nothing to leave.
export const notInSwarm = 'This node is not part of a swarm';

const managerRoutes: [method: Route['method'], path: string][] = [
  ['GET', '/swarm'],
  ['GET', '/swarm/unlockkey'],
  ['POST', '/swarm/update'],
  ['POST', '/swarm/unlock'],
  ['GET', '/services'],
  ['POST', '/services/create'],
  ['GET', '/services/{id}'],
  ['POST', '/services/{id}/update'],
  ['DELETE', '/services/{id}'],
  ['GET', '/nodes'],
  ['GET', '/nodes/{id}'],
  ['DELETE', '/nodes/{id}'],
  ['POST', '/nodes/{id}/update'],
  ['GET', '/tasks'],
  ['GET', '/tasks/{id}'],
  ['GET', '/secrets'],
  ['POST', '/secrets/create'],
  ['GET', '/secrets/{id}'],
  ['DELETE', '/secrets/{id}'],
  ['POST', '/secrets/{id}/update'],
  ['GET', '/configs'],
  ['POST', '/configs/create'],
  ['GET', '/configs/{id}'],
  ['DELETE', '/configs/{id}'],
  ['POST', '/configs/{id}/update'],
];

const logsSchema = { query: z.object({ stdout: qBool(), stderr: qBool() }) };

export function swarmRoutes(): Route[] {
  return [
    refusal('POST', '/swarm/init', 'initialize'),
    refusal('POST', '/swarm/join', 'join'),
    { name: 'swarm POST /swarm/leave', method: 'POST', path: '/swarm/leave', handle: unavailable(notInSwarm) },
    ...(['/services/{id}/logs', '/tasks/{id}/logs'] as const).map((path): Route => ({
      name: `swarm GET ${path}`,
      method: 'GET',
      path,
      schema: logsSchema,
      handle: async (ctx) => swarmLogs(ctx),
    })),
    ...managerRoutes.map(([method, path]): Route => ({ name: `swarm ${method} ${path}`, method, path, handle: unavailable(notSwarmManager) })),
  ];
}

function unavailable(message: string): Route['handle'] {
  return async () => {
    throw new Fault('unavailable', message);
  };
}

/**
 * Creating or joining a swarm is where a dockerd would start being a manager: this engine has no swarm mode, so
 * it refuses by name instead of answering as if the node were left out of one.
 */
function refusal(method: Route['method'], path: string, verb: string): Route {
  return {
    name: `swarm ${method} ${path}`,
    method,
    path,
    handle: async () => {
      throw new Fault('not-implemented', `swarm mode is not supported by this engine: it cannot ${verb} a swarm`);
    },
  };
}

/** moby api/server/router/swarm/helpers.go swarmLogs checks the streams (a plain error: 500) before the cluster. */
async function swarmLogs(ctx: ApiContext): Promise<never> {
  const { stdout, stderr } = inputOf(logsSchema, ctx).query;
  if (!stdout && !stderr) throw new Error('Bad parameters: you must choose at least one stream');
  throw new Fault('unavailable', notSwarmManager);
}
