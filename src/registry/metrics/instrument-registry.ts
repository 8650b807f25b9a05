import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import { countSentBodyBytes } from '../sent-body-bytes.ts';
import { hasBody } from '../unread-body.ts';
import type { AuthFailureReason, RegistryMetrics } from './registry-metrics.ts';
import { routeLabel } from './route-label.ts';

// Routes whose request or answer body is a blob: what the byte counters and the upload gauge look at.
const uploadRoutes = new Set(['blob_upload', 'blob_upload_chunk', 'v1_image_layer']);
const downloadRoutes = new Set(['blob', 'v1_image_layer']);
const bodyMethods = new Set(['POST', 'PATCH', 'PUT']);

const refusals: Partial<Record<number, AuthFailureReason>> = { 403: 'denied', 429: 'rate_limited' };

/**
 * Feeds `metrics` from every request the registry's server answers (v2, v1, token routes alike): register it on
 * the root instance before the routes, so every scope inherits the hooks. Bodies are counted as they stream, never
 * buffered: uploads by a `data` listener on the request, paused first so it never starts the flow itself;
 * downloads sent as a stream the same way on that stream, and those a handler copies into the response itself
 * (the blob GET's copy from reused buffers) by what it reports (src/registry/sent-body-bytes.ts): no wrapper
 * around the response's `write`, the hot path of a pull. Error bodies are not counted.
 */
export function instrumentRegistry(app: FastifyInstance, metrics: RegistryMetrics, options: { metricsPath: string }): void {
  const routes = new WeakMap<FastifyRequest, string>();
  app.addHook('onRequest', async (request, reply) => {
    const route = routeLabel(request.url, options.metricsPath);
    routes.set(request, route);
    if (uploadRoutes.has(route) && bodyMethods.has(request.method) && hasBody(request)) {
      reply.raw.once('close', metrics.uploadStarted());
      countData(request.raw, (bytes) => metrics.countBlobBytes('in', route, bytes));
    }
    if (downloadRoutes.has(route) && request.method === 'GET') countSentBodyBytes(reply.raw, (bytes) => metrics.countBlobBytes('out', route, bytes));
  });
  app.addHook('onSend', async (request, _reply, payload) => {
    const route = routes.get(request);
    if (route && downloadRoutes.has(route) && request.method === 'GET' && payload instanceof Readable) {
      countData(payload, (bytes) => metrics.countBlobBytes('out', route, bytes));
    }
    return payload;
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = routes.get(request) ?? 'unknown';
    metrics.observeRequest({ route, method: request.method, code: reply.statusCode, seconds: reply.elapsedTime / 1000 });
    const refusal = authRefusal(request, reply);
    if (refusal) metrics.authFailure(route, refusal);
    if (route === 'token' && reply.statusCode === 200) metrics.tokenIssued();
  });
}

/**
 * Why auth refused the request, if it did (the registry and the token server alike). A 401 to a request that
 * carried no credentials is the ordinary challenge every client starts with, not a failure.
 */
export function authRefusal(request: FastifyRequest, reply: FastifyReply): AuthFailureReason | undefined {
  if (reply.statusCode === 401) return request.headers.authorization ? 'unauthenticated' : undefined;
  return refusals[reply.statusCode];
}

function countData(stream: Readable, count: (bytes: number) => void): void {
  // Explicitly paused, a stream stays paused when a `data` listener is added; the consumer's pipe() or read()
  // moves it, and read() emits `data` too, so every chunk the consumer takes is seen exactly once.
  stream.pause();
  stream.on('data', (chunk: Buffer | string) => count(typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length));
}
