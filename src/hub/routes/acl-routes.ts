import type { FastifyInstance } from 'fastify';
import type { AclView } from '../../web/api-types.ts';
import type { HubDeps } from '../hub-deps.ts';

/** GET /api/v1/acl (admins): the configured ACL rules as written, read-only (docs/api.md). */
export function registerAclRoutes(api: FastifyInstance, deps: Pick<HubDeps, 'auth' | 'config'>): void {
  api.get('/acl', async (request): Promise<AclView> => {
    deps.auth.requireAdmin(await deps.auth.caller(request));
    const { mode, anonymousPull, acl } = deps.config.auth;
    return { authMode: mode, anonymousPull, rules: acl };
  });
}
