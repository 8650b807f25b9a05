import { Fault } from '../base/fault.ts';

/** The error a writer raises when a `write` brings more than its `limit` bytes. */
export function writeLimitExceeded(ref: string, limit: number): Fault {
  return new Fault('too-large', `ingest ${ref}: write exceeds its limit of ${limit} bytes`, {
    code: 'SIZE_INVALID',
    detail: { limit },
  });
}

/** Validates the optional per-write byte limit; undefined means unlimited. */
export function checkLimit(limit: number | undefined): number {
  if (limit === undefined) return Number.POSITIVE_INFINITY;
  if (!Number.isSafeInteger(limit) || limit < 0) {
    throw new Fault('invalid-argument', `invalid write limit ${limit}`);
  }
  return limit;
}
