import { Fault, isFault } from './fault.ts';

// tar-stream 3 reports a malformed archive with these messages and no code (extract.js, headers.js).
const malformedTar = /^(Invalid tar header|Invalid header|Header exceeds max size|Unexpected end of data)/;

/**
 * The error a client sees for an archive that failed to read: a malformed tar is that client's bad input (400,
 * `invalid tar archive: …` as moby's archive/tar says), anything else (disk, store) stays what it was.
 */
export function archiveFault(err: unknown): unknown {
  if (isFault(err)) return err;
  if (err instanceof Error && malformedTar.test(err.message)) {
    return new Fault('invalid-argument', `invalid tar archive: ${err.message}`, { cause: err });
  }
  return err;
}

/**
 * The error to report when reading an archive's entries failed with `err` while `feeding` (the pipeline into the
 * tar reader) was running: a refusal of an entry stands; otherwise the feed's own complaint (a truncated gzip, a
 * malformed header) says more than the reader's "destroyed".
 */
export async function feedingFault(err: unknown, feeding: Promise<unknown>): Promise<unknown> {
  if (isFault(err)) return err;
  const fromFeed = archiveFault(await feeding.then(() => undefined, (cause: unknown) => cause));
  return isFault(fromFeed) ? fromFeed : archiveFault(err);
}
