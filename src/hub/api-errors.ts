import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { type FaultKind, isFault } from '../base/fault.ts';
import type { Logger } from '../base/log.ts';
import type { ApiErrorBody } from '../web/api-types.ts';

const statusOf: Record<FaultKind, number> = {
  'not-found': 404,
  'already-exists': 409,
  'invalid-argument': 400,
  'failed-precondition': 409,
  conflict: 409,
  unavailable: 503,
  unauthenticated: 401,
  'permission-denied': 403,
  'not-implemented': 501,
  'out-of-range': 416,
  'too-large': 413,
  'storage-full': 507,
  internal: 500,
};

const codeOf: Record<number, string> = {
  400: 'INVALID',
  401: 'UNAUTHORIZED',
  403: 'DENIED',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  413: 'TOO_LARGE',
  415: 'UNSUPPORTED',
  416: 'RANGE_INVALID',
  429: 'TOOMANYREQUESTS',
  500: 'INTERNAL',
  501: 'UNSUPPORTED',
  503: 'UNAVAILABLE',
  507: 'DENIED',
};

export function apiError(code: string, message: string, detail?: unknown): ApiErrorBody {
  return { errors: [{ code, message, ...(detail === undefined ? {} : { detail }) }] };
}

/**
 * The API's one error handler: a Fault answers its kind's status with its code; fastify's own errors (a body over
 * the limit, bad JSON, a wrong content type) keep their 4xx status; anything else is a 500 whose cause goes to the
 * log only. A Fault with `detail.retryAfter` (rate limiting) answers 429 with Retry-After.
 */
export function hubErrorHandler(logger: Logger) {
  return (err: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    if (isFault(err)) {
      const retryAfter = (err.detail as { retryAfter?: unknown } | undefined)?.retryAfter;
      if (typeof retryAfter === 'number') {
        return reply.code(429).header('retry-after', String(Math.ceil(retryAfter))).send(apiError('TOOMANYREQUESTS', err.message));
      }
      const status = statusOf[err.kind];
      if (status >= 500) logger.error({ err, url: request.url }, 'hub api request failed');
      return reply.code(status).send(apiError(err.code ?? codeOf[status] ?? 'UNKNOWN', err.message));
    }
    const status = (err as FastifyError).statusCode;
    if (status && status >= 400 && status < 500) return reply.code(status).send(apiError(codeOf[status] ?? 'INVALID', err.message));
    logger.error({ err, url: request.url }, 'hub api request failed');
    return reply.code(500).send(apiError('INTERNAL', 'internal error'));
  };
}
