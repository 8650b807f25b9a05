import type { FastifyReply } from 'fastify';
import type { ServerResponse } from 'node:http';
import { Fault } from '../../base/fault.ts';
import type { BlobStore, ByteRange } from '../../store/blob-store.ts';
import { reportSentBodyBytes } from '../sent-body-bytes.ts';
import { closeIfBodyUnread } from '../unread-body.ts';

/**
 * Sends a blob (or a range of it) as the body of `reply`, whose status and headers are already set. A store
 * with `copyTo` writes straight into the raw response from reused buffers, past fastify's stream handling
 * (docs/benchmarks.md, "Blob pull"); other stores' streams go through `reply.send`.
 */
export async function sendBlob(reply: FastifyReply, blobs: BlobStore, digest: string, range: ByteRange | undefined): Promise<FastifyReply> {
  if (!blobs.copyTo) return reply.send(await blobs.read(digest, range));
  const copyTo = blobs.copyTo.bind(blobs);
  return sendCopy(reply, digest, (sink, signal) => copyTo(digest, sink, { range, signal }));
}

/**
 * Sends the body `copy` writes into the raw response (it must not end it), for a reply whose status and headers
 * are set. A failure before the first byte is thrown, so the caller answers with a registry error, unless the
 * client is already gone (then it is only logged at debug); after it, the connection is destroyed (the client
 * sees a short body, as with a failed stream) and the failure logged. The bytes a finished copy wrote are
 * reported to the metrics (sent-body-bytes.ts).
 */
export async function sendCopy(
  reply: FastifyReply,
  digest: string,
  copy: (sink: ServerResponse, signal: AbortSignal) => Promise<number>,
): Promise<FastifyReply> {
  closeIfBodyUnread(reply.request, reply);
  const res = reply.raw;
  const headers = reply.getHeaders();
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) res.setHeader(name, value);
  const gone = clientGone(res);
  try {
    reportSentBodyBytes(res, await copy(res, gone.signal));
  } catch (err) {
    // A client gone before the first byte has nobody to answer: its abort is no registry error.
    if (!res.headersSent && !res.destroyed) {
      for (const name of Object.keys(headers)) res.removeHeader(name);
      throw err;
    }
    reply.hijack();
    if (!res.headersSent) reply.log.debug({ err, digest }, 'client went away before a blob download started');
    else if (gone.signal.aborted) reply.log.info({ digest }, 'client went away during a blob download');
    else reply.log.error({ err, digest }, 'blob download failed after its first byte');
    res.destroy();
    return reply;
  } finally {
    gone.dispose();
  }
  // The response is ours from here: fastify's onResponse hooks and request log still run on its 'finish'.
  reply.hijack();
  res.end();
  return reply;
}

/** Aborts when the response closes before it was ended: the client went away. */
function clientGone(res: ServerResponse): { signal: AbortSignal; dispose(): void } {
  const abort = new AbortController();
  const onClose = () => abort.abort(new Fault('unavailable', 'client went away'));
  res.once('close', onClose);
  return { signal: abort.signal, dispose: () => res.off('close', onClose) };
}
