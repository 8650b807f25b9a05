import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import type { Logger } from '../../base/log.ts';
import { type MetricsServer, startMetricsServer } from '../../base/metrics-server.ts';
import { authRefusal } from './instrument-registry.ts';
import { routeLabel } from './route-label.ts';

export interface TokenServerMetricsOptions {
  /** `auth.token.metricsAddr`: `HOST:PORT` of an open listener (`:PORT` = loopback). */
  addr: string;
  logger: Logger;
}

const metricsPath = '/metrics';
// The token endpoint checks a password (bcrypt) at most: milliseconds to a second.
const durationBuckets = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * The standalone token server's (`wharf auth serve`) Prometheus metrics on a listener of its own, as the engine
 * serves its own on `engine.metricsAddr`: requests by route, method and code, their latency, tokens issued and
 * auth failures (tokens under the name the registry counts them by where it embeds the token routes). Register
 * before `ready`.
 */
export async function startTokenServerMetrics(app: FastifyInstance, options: TokenServerMetricsOptions): Promise<MetricsServer> {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({ name: 'wharf_auth_http_requests_total', help: 'Token server HTTP requests answered, by route, method and status code.', labelNames: ['route', 'method', 'code'], registers });
  const duration = new Histogram({ name: 'wharf_auth_http_request_duration_seconds', help: 'Time from request to the end of the answer, by route and method.', labelNames: ['route', 'method'], buckets: durationBuckets, registers });
  const tokens = new Counter({ name: 'wharf_auth_tokens_issued_total', help: 'Bearer tokens issued by the token endpoint.', registers });
  const failures = new Counter({ name: 'wharf_auth_failures_total', help: 'Token requests refused: credentials refused (401 with credentials), denied (403), rate limited (429).', labelNames: ['route', 'reason'], registers });
  app.addHook('onResponse', async (request, reply) => {
    const route = routeLabel(request.url, metricsPath);
    requests.inc({ route, method: request.method, code: String(reply.statusCode) });
    duration.observe({ route, method: request.method }, reply.elapsedTime / 1000);
    const refusal = authRefusal(request, reply);
    if (refusal) failures.inc({ route, reason: refusal });
    if (route === 'token' && reply.statusCode === 200) tokens.inc();
  });
  const server = await startMetricsServer({ addr: options.addr, path: metricsPath, registry, logger: options.logger });
  options.logger.info({ url: server.url }, 'token server metrics listening');
  return server;
}
