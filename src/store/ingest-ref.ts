import { Fault } from '../base/fault.ts';

// Refs become directory names under ingest/: no dots or slashes, so no path traversal is possible.
const refPattern = /^[A-Za-z0-9_-]{1,128}$/;

export function isIngestRef(ref: string): boolean {
  return typeof ref === 'string' && refPattern.test(ref);
}

/** Throws invalid-argument (code BLOB_UPLOAD_INVALID) unless `ref` is a safe ingest name. */
export function assertIngestRef(ref: string): void {
  if (!isIngestRef(ref)) {
    const shown = typeof ref === 'string' && ref.length > 40 ? `${ref.slice(0, 40)}…` : String(ref);
    throw new Fault('invalid-argument', `invalid ingest ref "${shown}"`, { code: 'BLOB_UPLOAD_INVALID' });
  }
}
