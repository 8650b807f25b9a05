import type { FastifyReply } from 'fastify';
import { Fault } from '../../base/fault.ts';
import type { Logger } from '../../base/log.ts';
import { distributionErrorBody, distributionErrorFor, distributionErrors } from '../../oci/distribution-errors.ts';

export interface WireError {
  status: number;
  code: string;
  message: string;
  detail?: unknown;
}

/** The one place a fault becomes a registry error; anything that is not a Fault is a 500 UNKNOWN. */
export function toWireError(err: unknown): WireError {
  if (err instanceof Fault) return distributionErrorFor(err);
  return { status: 500, code: 'UNKNOWN', message: distributionErrors.UNKNOWN.message };
}

export function sendError(reply: FastifyReply, err: unknown, logger: Logger): FastifyReply {
  const wire = toWireError(err);
  if (wire.status === 507) logger.error({ err, detail: wire.detail, reqId: reply.request.id }, `registry storage is full: ${wire.message}`);
  else if (wire.status >= 500) logger.error({ err, reqId: reply.request.id }, 'registry request failed');
  else logger.debug({ code: wire.code, message: wire.message, reqId: reply.request.id }, 'registry request refused');
  return sendWireError(reply, wire);
}

/** Renders `{"errors":[{code,message,detail}]}`; headers a handler set for a success body are dropped. */
export function sendWireError(reply: FastifyReply, wire: WireError): FastifyReply {
  for (const header of ['content-length', 'docker-content-digest', 'etag', 'location', 'oci-subject']) reply.removeHeader(header);
  reply.code(wire.status).header('content-type', 'application/json; charset=utf-8');
  if (wire.status !== 416) reply.removeHeader('content-range');
  if (reply.request.method === 'HEAD') return reply.send();
  return reply.send(JSON.stringify(distributionErrorBody(wire.code, wire.message, wire.detail ?? {})));
}
