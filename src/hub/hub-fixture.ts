import Fastify, { type FastifyInstance } from 'fastify';
import type { Identity } from '../auth/authorizer.ts';
import { Fault } from '../base/fault.ts';
import { createLogger } from '../base/log.ts';
import { zodOnlySchemas } from '../base/zod-only-schemas.ts';
import { hubErrorHandler } from './api-errors.ts';
import { administers, type Caller, type HubAuth, type RepositoryAction } from './hub-auth.ts';

const everyAction: RepositoryAction[] = ['pull', 'push', 'delete'];

/**
 * A HubAuth for route tests that fixes who calls and what they may do: `may(repository)` lists the actions
 * (default: every action for admins, pull for everyone else). Production code uses src/hub/auth/.
 */
export function fixedHubAuth(identity: Identity, may?: (repository: string) => RepositoryAction[]): HubAuth {
  const actions = (repository: string) => may?.(repository) ?? (identity.admin ? everyAction : ['pull' as const]);
  const caller: Caller = { identity, ip: '127.0.0.1', via: identity.account ? 'basic' : 'anonymous' };
  const deny = (message: string) => new Fault(identity.account || identity.admin ? 'permission-denied' : 'unauthenticated', message);
  return {
    caller: async () => caller,
    actions: (_caller, repository) => actions(repository),
    pullable: (_caller, names) => names.filter((name) => actions(name).includes('pull')),
    require: (_caller, repository, action) => {
      if (!actions(repository).includes(action)) throw deny(`${action} on ${repository} is not allowed`);
    },
    // As the real HubAuth: a robot token never administers, whatever its account is.
    isAdmin: () => administers(identity, false),
    requireAdmin: () => {
      if (!administers(identity, false)) throw deny('administrators only');
    },
  };
}

/** For route tests: an app, ready, whose /api/v1 scope has the hub's error handler and the routes `register` adds. */
export async function apiTestApp(register: (api: FastifyInstance) => void): Promise<FastifyInstance> {
  const app = Fastify({ schemaController: zodOnlySchemas });
  app.register(async (api) => {
    api.setErrorHandler(hubErrorHandler(createLogger({ level: 'silent' })));
    register(api);
  }, { prefix: '/api/v1' });
  await app.ready();
  return app;
}
