import type { IncomingMessage, ServerResponse } from 'node:http';

export interface UnreadBodyLimits {
  /** Bytes read and discarded after the answer before the connection is cut. */
  bytes: number;
  /** How long the client may go on sending after the answer. */
  ms: number;
}

// Go's net/http (so dockerd) reads up to 256 KiB of an unread body after the handler returns, else closes.
const defaultLimits: UnreadBodyLimits = { bytes: 256 * 1024, ms: 2000 };

/**
 * An answer sent before the request body was read (an error, a refusal) must not leave the client writing into
 * a connection nobody reads: it would wait for its own timeout before it reads the answer. The answer says
 * `Connection: close`; once it is out, what the client still sends is discarded up to a bound, then the
 * connection is cut.
 */
export function settleUnreadBody(req: IncomingMessage, res: ServerResponse, limits: UnreadBodyLimits = defaultLimits): void {
  if (req.complete || req.readableEnded) return;
  if (!res.headersSent) res.setHeader('Connection', 'close');
  res.once('finish', () => discardRest(req, limits));
}

function discardRest(req: IncomingMessage, limits: UnreadBodyLimits): void {
  if (req.complete || req.destroyed) return;
  let seen = 0;
  const cut = () => {
    clearTimeout(timer);
    req.socket.destroy();
  };
  const timer = setTimeout(cut, limits.ms);
  timer.unref();
  req.on('data', (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > limits.bytes) cut();
  });
  req.once('end', () => clearTimeout(timer));
  req.once('error', cut);
  req.resume();
}
