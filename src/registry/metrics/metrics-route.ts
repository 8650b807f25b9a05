import type { FastifyInstance } from 'fastify';
import type { Access, Authorizer } from '../../auth/authorizer.ts';
import type { Logger } from '../../base/log.ts';
import { sendWireError } from '../v2/errors.ts';
import type { RegistryMetrics } from './registry-metrics.ts';

export interface MetricsRouteOptions {
  path: string;
  authorizer: Authorizer;
  logger: Logger;
}

// Metrics count every repository's traffic, unfiltered: a resource type of its own, which the ACL grants only
// to admins (acl.ts: no rule names it; `registry:catalog:*` would let every account in).
const metricsAccess: Access[] = [{ type: 'metrics', name: 'registry', actions: ['*'] }];

/**
 * `GET <path>` on the registry's own address. distribution serves metrics only on a separate debug address; on
 * the public one wharf asks the registry's authorizer for `metrics:registry:*`: open with `auth.mode: none`,
 * else an admin account (`wharf user add --admin`) by Basic (htpasswd mode) or bearer token, answered with the
 * registry's challenge and error body otherwise. `registry.metrics.addr` moves it to an open listener.
 */
export function registerMetricsRoute(app: FastifyInstance, metrics: RegistryMetrics, options: MetricsRouteOptions): void {
  app.get(options.path, async (request, reply) => {
    const decision = await options.authorizer.authorize(
      { authorization: request.headers.authorization, ip: request.ip, protocol: 'v2', host: request.headers.host, secure: request.protocol === 'https' },
      metricsAccess,
    );
    if (!decision.allowed) {
      if (decision.challenge) reply.header('www-authenticate', decision.challenge);
      if (decision.status === 429) reply.header('retry-after', String(decision.retryAfter ?? 60));
      return sendWireError(reply, { status: decision.status, code: decision.code, message: decision.message, detail: decision.detail });
    }
    try {
      return reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics());
    } catch (err) {
      options.logger.warn({ err }, 'metrics collection failed');
      return reply.code(500).type('text/plain; charset=utf-8').send('metrics collection failed\n');
    }
  });
}
