// Domain errors carry a kind; only the protocol edges (registry v2, v1, engine API) map kinds to statuses.
export const faultKinds = [
  'not-found',
  'already-exists',
  'invalid-argument',
  'failed-precondition',
  'conflict',
  'unavailable',
  'unauthenticated',
  'permission-denied',
  'not-implemented',
  'out-of-range',
  'too-large',
  // The disk (or quota) holding the data is full: the request may succeed once space is freed.
  'storage-full',
  // The server failed at something it should have been able to do: a 500 with the message, as dockerd answers.
  'internal',
] as const;

export type FaultKind = (typeof faultKinds)[number];

export interface FaultOptions {
  cause?: unknown;
  /** A protocol-specific code the edge may prefer over the kind's default (e.g. 'BLOB_UNKNOWN'). */
  code?: string;
  detail?: unknown;
}

export class Fault extends Error {
  readonly kind: FaultKind;
  readonly code: string | undefined;
  readonly detail: unknown;

  constructor(kind: FaultKind, message: string, options: FaultOptions = {}) {
    super(message, { cause: options.cause });
    this.name = 'Fault';
    this.kind = kind;
    this.code = options.code;
    this.detail = options.detail;
  }
}

export function isFault(err: unknown, kind?: FaultKind): err is Fault {
  return err instanceof Fault && (kind === undefined || err.kind === kind);
}
