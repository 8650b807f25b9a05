import type { FastifyInstance } from 'fastify';
import { Fault } from '../base/fault.ts';
import { apiError, hubErrorHandler } from './api-errors.ts';
import type { HubDeps } from './hub-deps.ts';

const maxJsonBytes = 64 * 1024;

/**
 * The hub on the registry's server: the JSON API under /api/v1 (docs/api.md) in a scope of its own (its JSON
 * parser, error handler and 404), and the web UI at `/` and `/ui/` when `hub.ui` is on.
 */
export function registerHub(app: FastifyInstance, deps: HubDeps): void {
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
    },
    { prefix: '/api/v1' },
  );
}
