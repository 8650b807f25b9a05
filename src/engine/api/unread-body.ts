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
 * a connection nobody reads. As Go's net/http does before it writes the header: the rest of the body is read and
 * discarded first, up to a bound; a body that ended keeps the connection, and the client, which may still be
 * writing when it would otherwise get the answer, sees it whole (the CLI sending a build context to a refused
 * build got a broken pipe instead). A longer body is answered with `Connection: close`; what the client still
 * sends after it is discarded up to the bound again, then the connection is cut.
 */
export async function settleUnreadBody(req: IncomingMessage, res: ServerResponse, limits: UnreadBodyLimits = defaultLimits): Promise<void> {
  if (req.complete || req.readableEnded) return;
  if (await discardUpTo(req, limits)) return;
  if (!res.headersSent) res.setHeader('Connection', 'close');
  res.once('finish', () => discardRest(req, limits));
}

/** Reads and drops the body until it ends (true), or the bound of bytes or time is reached (false). */
function discardUpTo(req: IncomingMessage, limits: UnreadBodyLimits): Promise<boolean> {
  if (req.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    let seen = 0;
    const done = (ended: boolean) => {
      clearTimeout(timer);
      req.off('data', onData).off('end', onEnd).off('error', onFail).off('close', onFail);
      if (!ended) req.pause();
      resolve(ended);
    };
    const onData = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > limits.bytes) done(false);
    };
    const onEnd = () => done(true);
    const onFail = () => done(false);
    const timer = setTimeout(onFail, limits.ms);
    req.on('data', onData).once('end', onEnd).once('error', onFail).once('close', onFail);
    req.resume();
  });
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
