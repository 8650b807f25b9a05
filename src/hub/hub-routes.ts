import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Fault } from '../base/fault.ts';
import { apiError, hubErrorHandler } from './api-errors.ts';
import type { HubDeps } from './hub-deps.ts';
import { registerSessionRoutes, sessionInfo } from './routes/session-routes.ts';
import { registerTokensRoutes } from './routes/tokens-routes.ts';
import { registerUsersRoutes } from './routes/users-routes.ts';
import { registerAclRoutes } from './routes/acl-routes.ts';
import { registerBuildsRoutes } from './routes/builds-routes.ts';
import { registerHooksRoutes } from './routes/hooks-routes.ts';
import { registerActivityRoutes } from './routes/activity-routes.ts';
import { registerGcRoutes } from './routes/gc-routes.ts';
import { registerQuotasRoutes } from './routes/quotas-routes.ts';
import { registerStaticUi } from './static-ui.ts';
import { ManifestSummaries } from './browse/manifest-summaries.ts';
import { registerManifestRoutes } from './routes/manifest-routes.ts';
import { registerRepositoriesRoutes } from './routes/repositories-routes.ts';
import { registerTagsRoutes } from './routes/tags-routes.ts';

const maxJsonBytes = 64 * 1024;

/**
 * The hub on the registry's server: the JSON API under /api/v1 (docs/api.md) in a scope of its own (its JSON
 * parser, error handler and 404), and the web UI at `/` and `/ui/` when `hub.ui` is on.
 */
export function registerHub(app: FastifyInstance, deps: HubDeps): void {
  // The page carries who calls (what GET /api/v1/session answers); a caller the API would refuse (a bad Basic
  // header) gets the plain page, and the app asks.
  const session = async (request: FastifyRequest) => {
    const caller = await deps.auth.caller(request).catch(() => undefined);
    return caller && sessionInfo(deps.config, caller.identity, caller.session?.csrfToken ?? null);
  };
  if (deps.config.hub.ui) registerStaticUi(app, { session });
  app.register(
    async (api) => {
      api.removeAllContentTypeParsers();
      api.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: maxJsonBytes }, (_request, body, done) => {
        try {
          done(null, body === '' ? undefined : JSON.parse(body as string));
        } catch {
          done(new Fault('invalid-argument', 'the body is not valid JSON', { code: 'INVALID' }), undefined);
        }
      });
      api.setErrorHandler(hubErrorHandler(deps.logger));
      api.setNotFoundHandler((request, reply) => reply.code(404).send(apiError('NOT_FOUND', `no API endpoint ${request.method} ${request.url.split('?')[0]}`)));
      // Each part registers its routes here (one line each).
      registerSessionRoutes(api, deps);
      registerUsersRoutes(api, deps);
      registerTokensRoutes(api, deps);
      registerActivityRoutes(api, deps);
      registerAclRoutes(api, deps);
      registerQuotasRoutes(api, deps);
      registerGcRoutes(api, deps);
      registerRepositoriesRoutes(api, deps);
      const summaries = new ManifestSummaries();
      registerTagsRoutes(api, deps, summaries);
      registerManifestRoutes(api, deps, summaries);
      registerBuildsRoutes(api, deps);
      registerHooksRoutes(api, deps);
    },
    { prefix: '/api/v1' },
  );
}
