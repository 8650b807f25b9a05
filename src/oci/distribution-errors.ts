import type { FaultKind } from '../base/fault.ts';

export interface ErrorCodeSpec {
  message: string;
  status: number;
}

/** distribution-spec error codes, each registered once with its message and HTTP status. */
export const distributionErrors = {
  BLOB_UNKNOWN: { message: 'blob unknown to registry', status: 404 },
  BLOB_UPLOAD_INVALID: { message: 'blob upload invalid', status: 400 },
  BLOB_UPLOAD_UNKNOWN: { message: 'blob upload unknown to registry', status: 404 },
  DIGEST_INVALID: { message: 'provided digest did not match uploaded content', status: 400 },
  MANIFEST_BLOB_UNKNOWN: { message: 'manifest references a manifest or blob unknown to registry', status: 400 },
  MANIFEST_INVALID: { message: 'manifest invalid', status: 400 },
  MANIFEST_UNKNOWN: { message: 'manifest unknown to registry', status: 404 },
  NAME_INVALID: { message: 'invalid repository name', status: 400 },
  NAME_UNKNOWN: { message: 'repository name not known to registry', status: 404 },
  SIZE_INVALID: { message: 'provided length did not match content length', status: 400 },
  TAG_INVALID: { message: 'manifest tag did not match URI', status: 400 },
  UNAUTHORIZED: { message: 'authentication required', status: 401 },
  DENIED: { message: 'requested access to the resource is denied', status: 403 },
  UNSUPPORTED: { message: 'the operation is unsupported', status: 405 },
  TOOMANYREQUESTS: { message: 'too many requests', status: 429 },
  RANGE_INVALID: { message: 'invalid content range', status: 416 },
  PAGINATION_NUMBER_INVALID: { message: 'invalid number of results requested', status: 400 },
  UNKNOWN: { message: 'unknown error', status: 500 },
  UNAVAILABLE: { message: 'service unavailable', status: 503 },
} as const satisfies Record<string, ErrorCodeSpec>;

export type DistributionErrorCode = keyof typeof distributionErrors;

/**
 * wharf's own codes and the distribution-spec code each answers as. An upstream of the pull-through cache that
 * fails is the mirror's condition, not the client's mistake: 503 UNAVAILABLE, as distribution's proxy answers.
 */
export const codeAliases: Record<string, DistributionErrorCode> = { UPSTREAM_UNAVAILABLE: 'UNAVAILABLE' };

/**
 * The code and status of a Fault that carries no code of its own. A codeless invalid-argument is a request the
 * spec has no better name for, so it answers UNSUPPORTED with 400 rather than that code's 405.
 */
export const defaultErrorForKind: Record<FaultKind, { code: DistributionErrorCode; status: number }> = {
  'not-found': { code: 'NAME_UNKNOWN', status: 404 },
  'already-exists': { code: 'DENIED', status: 409 },
  'invalid-argument': { code: 'UNSUPPORTED', status: 400 },
  'failed-precondition': { code: 'DENIED', status: 412 },
  conflict: { code: 'DENIED', status: 409 },
  unavailable: { code: 'UNAVAILABLE', status: 503 },
  unauthenticated: { code: 'UNAUTHORIZED', status: 401 },
  'permission-denied': { code: 'DENIED', status: 403 },
  'not-implemented': { code: 'UNSUPPORTED', status: 405 },
  'out-of-range': { code: 'RANGE_INVALID', status: 416 },
  'too-large': { code: 'SIZE_INVALID', status: 413 },
  // distribution-spec has no code for a full disk. UNKNOWN, not DENIED: DENIED means an access decision (docker
  // prints it as such and gives up), while a full disk is the server's condition, which 507 states and which may
  // clear; the message and detail name the disk.
  'storage-full': { code: 'UNKNOWN', status: 507 },
  internal: { code: 'UNKNOWN', status: 500 },
};

/** Kinds whose status wins over their code's: an unsatisfiable range is 416, an oversized body 413, a full disk 507. */
export const statusForKind: Partial<Record<FaultKind, number>> = { 'out-of-range': 416, 'too-large': 413, 'storage-full': 507 };

/** The code used for a Fault that carries none of its own. */
export const defaultCodeForKind: Record<FaultKind, DistributionErrorCode> = Object.fromEntries(
  Object.entries(defaultErrorForKind).map(([kind, { code }]) => [kind, code]),
) as Record<FaultKind, DistributionErrorCode>;

/** The wire form of a fault: `{status, code, message, detail}`, from the table above and nowhere else. */
export function distributionErrorFor(fault: { kind: FaultKind; code?: string; message: string; detail?: unknown }): {
  status: number;
  code: DistributionErrorCode;
  message: string;
  detail: unknown;
} {
  const own = isDistributionErrorCode(fault.code) ? fault.code : fault.code !== undefined && Object.hasOwn(codeAliases, fault.code) ? codeAliases[fault.code] : undefined;
  const fallback = defaultErrorForKind[fault.kind];
  const code = own ?? fallback.code;
  const status = statusForKind[fault.kind] ?? (own ? distributionErrors[own].status : fallback.status);
  return { status, code, message: fault.message || distributionErrors[code].message, detail: fault.detail ?? {} };
}

/** The JSON body every registry error is sent as. */
export function distributionErrorBody(code: string, message: string, detail: unknown = {}): { errors: { code: string; message: string; detail: unknown }[] } {
  return { errors: [{ code, message, detail }] };
}

export function isDistributionErrorCode(code: string | undefined): code is DistributionErrorCode {
  return code !== undefined && Object.hasOwn(distributionErrors, code);
}
