import { type FaultKind, isFault } from '../../base/fault.ts';

/**
 * The engine protocol's one error table: Fault kinds to the statuses the docker CLI interprets
 * (404 triggers `docker run`'s pull and `docker inspect`'s fallbacks; 409 conflict; 400 invalid parameter).
 */
export const engineStatusByKind: Record<FaultKind, number> = {
  'not-found': 404,
  'already-exists': 409,
  conflict: 409,
  'failed-precondition': 409,
  'invalid-argument': 400,
  'out-of-range': 400,
  'too-large': 413,
  unauthenticated: 401,
  'permission-denied': 403,
  'not-implemented': 501,
  unavailable: 503,
  // dockerd answers a full disk (ENOSPC) with a 500 that carries the message.
  'storage-full': 500,
  internal: 500,
};

export interface RenderedError {
  status: number;
  message: string;
}

/** Maps any thrown value to the engine's `{"message"}` error; non-Faults are internal errors (500). */
export function renderError(err: unknown): RenderedError {
  if (isFault(err)) return { status: engineStatusByKind[err.kind] ?? 500, message: err.message };
  const message = err instanceof Error ? err.message : String(err);
  return { status: 500, message };
}
