import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';

/**
 * A request body for a handler's pipeline that the pipeline may destroy without destroying the request: a refused
 * archive then still gets its 400 on this connection, and the dispatcher drains or closes what the client is still
 * sending (settleUnreadBody). The request's own errors (the client went away) still fail the pipeline.
 */
export function requestBody(req: IncomingMessage): Readable {
  return Readable.from(req.iterator({ destroyOnReturn: false }), { objectMode: false });
}
