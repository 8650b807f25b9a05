import { Fault } from '../base/fault.ts';

interface S3ErrorShape {
  name?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
}

function shape(err: unknown): S3ErrorShape {
  return typeof err === 'object' && err !== null ? (err as S3ErrorShape) : {};
}

/** NoSuchKey (GET), NotFound (HEAD, which has no body to name it), or a bare 404. */
export function isS3NotFound(err: unknown): boolean {
  const e = shape(err);
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.Code === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404;
}

export function isS3NoSuchUpload(err: unknown): boolean {
  const e = shape(err);
  return e.name === 'NoSuchUpload' || e.Code === 'NoSuchUpload';
}

/** A conditional request (x-amz-copy-source-if-*) whose condition did not hold. */
export function isS3PreconditionFailed(err: unknown): boolean {
  const e = shape(err);
  return e.name === 'PreconditionFailed' || e.Code === 'PreconditionFailed' || e.$metadata?.httpStatusCode === 412;
}

/**
 * What the BlobStore sees of a failed S3 call: not-found for a missing key, the service being unavailable for
 * any other answer or a connection failure; anything else (a source's own error) passes through unchanged.
 */
export function s3Fault(err: unknown, what: string): unknown {
  if (err instanceof Fault) return err;
  const e = shape(err);
  const system = typeof (err as { code?: unknown })?.code === 'string' && /^E[A-Z]+$/.test((err as { code: string }).code);
  if (!e.$metadata && !system && e.name !== 'TimeoutError') return err;
  const code = e.Code ?? (system ? (err as { code: string }).code : e.name) ?? 'error';
  if (isS3NotFound(err)) return new Fault('not-found', `${what} does not exist`, { cause: err });
  return new Fault('unavailable', `s3: ${what}: ${code}${e.$metadata?.httpStatusCode ? ` (${e.$metadata.httpStatusCode})` : ''}`, { cause: err });
}
