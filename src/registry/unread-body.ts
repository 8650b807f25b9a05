import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';

/**
 * Every registry answer sent before its request body was read (a refusal, an unknown upload, a 413, a mount
 * that needs no bytes) says `Connection: close`, and node closes the connection once the answer is out. Without
 * it node would read the whole unread body only to drop it (a client's gigabyte after a 401), and a client that
 * writes its whole body before reading would wait on a connection nobody reads. Registered once per scope.
 */
export function closeUnreadBodies(scope: FastifyInstance): void {
  scope.addHook('onSend', async (request, reply) => {
    closeIfBodyUnread(request, reply);
  });
}

/** The same decision for answers sent outside a scope's hooks (fastify's framework errors). */
export function closeIfBodyUnread(request: FastifyRequest, reply: FastifyReply): void {
  const raw = request.raw;
  if (raw.complete || raw.readableEnded || reply.raw.headersSent) return;
  if (hasBody(raw)) reply.header('connection', 'close');
}

/** Whether a request carries a body: a positive Content-Length, or none and a Transfer-Encoding. */
export function hasBody(request: { headers: IncomingHttpHeaders }): boolean {
  const length = request.headers['content-length'];
  return length !== undefined ? Number(length) > 0 : request.headers['transfer-encoding'] !== undefined;
}
