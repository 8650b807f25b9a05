import { Fault } from '../base/fault.ts';
import type { ByteRange } from './blob-store.ts';

/**
 * Checks an inclusive range against a blob of `size` bytes. As in HTTP (RFC 9110 §14.1.2), an end past the
 * last byte is clamped; a start beyond the end of the blob, or a reversed range, is unsatisfiable.
 */
export function resolveRange(digest: string, size: number, range: ByteRange | undefined): ByteRange | undefined {
  if (range === undefined) return undefined;
  const { start, end } = range;
  const valid = Number.isSafeInteger(start) && Number.isSafeInteger(end) && start >= 0 && end >= start && start < size;
  if (!valid) {
    throw new Fault('out-of-range', `range ${start}-${end} not satisfiable for ${digest} (size ${size})`, {
      detail: { size },
    });
  }
  return { start, end: Math.min(end, size - 1) };
}
