import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { Fault } from '../../base/fault.ts';
import type { Logger } from '../../base/log.ts';
import type { MetadataStore } from '../../meta/metadata-store.ts';
import { sendError } from '../v2/errors.ts';

export interface QuotaRouteDeps {
  meta: MetadataStore;
  logger: Logger;
  /** Authorizes the caller for the operator's view (the catalog's access); on refusal it answers and says false. */
  allow(request: FastifyRequest, reply: FastifyReply): Promise<boolean>;
}

const params = z.strictObject({ namespace: z.string().regex(/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/, 'a namespace is one component of a repository name') });

/**
 * `GET /v2/_wharf/quota/<namespace>` (in the /v2 scope): `{namespace, used, limit}` in bytes, `limit` null when
 * the namespace has no quota. wharf's own path: `_` cannot start a repository name, so no repository shadows it.
 */
export function registerQuotaRoute(scope: FastifyInstance, deps: QuotaRouteDeps): void {
  scope.get('/_wharf/quota/:namespace', async (request, reply) => {
    try {
      const parsed = params.safeParse(request.params);
      if (!parsed.success) throw new Fault('invalid-argument', parsed.error.issues[0].message, { code: 'NAME_INVALID' });
      if (!(await deps.allow(request, reply))) return reply;
      const { namespace } = parsed.data;
      const limit = (await deps.meta.getQuota(namespace)) ?? null;
      return reply.send({ namespace, used: await deps.meta.namespaceUsage(namespace), limit });
    } catch (err) {
      return sendError(reply, err, deps.logger);
    }
  });
}
