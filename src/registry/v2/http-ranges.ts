import { Fault } from '../../base/fault.ts';
import type { ByteRange } from '../../store/blob-store.ts';
import type { ChunkRange } from '../registry-service.ts';

/**
 * A blob GET's `Range` header (RFC 9110 §14.2). One `bytes=` range is honoured; anything else the server does
 * not understand (other units, several ranges, bad syntax) is ignored, so the whole blob is sent. A range that
 * starts past the end throws out-of-range (416 with `Content-Range: bytes *\/size`).
 */
export function parseRangeHeader(header: string | undefined, size: number): ByteRange | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) throw unsatisfiable(header, size);
    return { start: Math.max(size - suffix, 0), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? Number.MAX_SAFE_INTEGER : Number(m[2]);
  if (end < start) return undefined;
  if (start >= size) throw unsatisfiable(header, size);
  return { start, end: Math.min(end, size - 1) };
}

function unsatisfiable(header: string, size: number): Fault {
  return new Fault('out-of-range', `range "${header.slice(0, 60)}" is not satisfiable for a blob of ${size} bytes`, {
    code: 'RANGE_INVALID',
    detail: { size },
  });
}

/**
 * A chunk's `Content-Range` as docker and the spec send it: `<start>-<end>` inclusive (a `bytes ` prefix and a
 * `/total` suffix are tolerated). Bad syntax is BLOB_UPLOAD_INVALID; a reversed range is 416 as in distribution.
 */
export function parseContentRange(header: string | undefined): ChunkRange | undefined {
  if (header === undefined || header === '') return undefined;
  const m = /^(?:bytes[ =])?(\d{1,15})-(\d{1,15})(?:\/(?:\d+|\*))?$/.exec(header.trim());
  if (!m) {
    throw new Fault('invalid-argument', `invalid Content-Range "${header.slice(0, 60)}"`, { code: 'BLOB_UPLOAD_INVALID' });
  }
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (end < start) throw new Fault('out-of-range', `Content-Range ${start}-${end} ends before it starts`, { code: 'RANGE_INVALID' });
  return { start, end };
}

/** The `Range` an upload answers with: `0-<last byte>`, and `0-0` for an empty one as distribution sends. */
export function uploadRange(offset: number): string {
  return `0-${Math.max(offset - 1, 0)}`;
}
