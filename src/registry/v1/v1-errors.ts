import type { FastifyReply } from 'fastify';
import { Fault, type FaultKind, isFault } from '../../base/fault.ts';
import type { Logger } from '../../base/log.ts';

/**
 * The v1 error table: every Fault kind's status on `/v1/`, body `{"error": "<message>"}` as docker-registry
 * answered (docker 1.x matched some messages, e.g. 'Image already exists'). docs/errors.md lists the same.
 */
export const v1StatusByKind: Record<FaultKind, number> = {
  'not-found': 404,
  'already-exists': 409,
  conflict: 409,
  'failed-precondition': 409,
  'invalid-argument': 400,
  'out-of-range': 416,
  'too-large': 413,
  unauthenticated: 401,
  'permission-denied': 403,
  'not-implemented': 501,
  unavailable: 503,
  'storage-full': 507,
  internal: 500,
};

/** Fault codes that override the kind's status. */
export const v1StatusByCode: Record<string, number> = {
  TOOMANYREQUESTS: 429,
  METHOD_NOT_ALLOWED: 405,
  // A write to a name the pull-through cache mirrors; docker 1.x prints the status and the message.
  UNSUPPORTED: 405,
};

export function v1StatusOf(err: unknown): number {
  if (err instanceof Fault) return (err.code ? v1StatusByCode[err.code] : undefined) ?? v1StatusByKind[err.kind] ?? 500;
  const status = (err as { statusCode?: unknown })?.statusCode;
  return typeof status === 'number' && status >= 400 && status < 600 ? status : 500;
}

/** Renders any error as v1 JSON; a 401 carries `challenge`, a 429 Retry-After, a 5xx no internals. */
export function sendV1Error(reply: FastifyReply, err: unknown, options: { logger: Logger; challenge: string }): FastifyReply {
  const status = v1StatusOf(err);
  if (isFault(err, 'storage-full')) options.logger.error({ err, detail: err.detail }, `v1 storage is full: ${err.message}`);
  else if (status >= 500) options.logger.error({ err }, 'v1 request failed');
  if (status === 401) reply.header('www-authenticate', options.challenge);
  const retryAfter = (err instanceof Fault ? (err.detail as { retryAfter?: unknown } | undefined)?.retryAfter : undefined);
  if (status === 429 && typeof retryAfter === 'number') reply.header('retry-after', String(retryAfter));
  const message = status >= 500 && !isFault(err, 'unavailable') && !isFault(err, 'storage-full') ? 'internal server error' : (err as Error).message;
  return reply.code(status).type('application/json').send({ error: message });
}
