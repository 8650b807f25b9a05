import { Fault, isFault } from './fault.ts';

// tar-stream 3 reports a malformed archive with these messages and no code (extract.js, headers.js).
const malformedTar = /^(Invalid tar header|Invalid header|Header exceeds max size)/;
const truncatedTar = /^Unexpected end of data/;

/** Go's io.ErrUnexpectedEOF: what moby's readers say of an archive that ends early, whatever its compression. */
export const unexpectedEof = 'unexpected EOF';

/**
 * The error a client sees for an archive that failed to read: a malformed tar is that client's bad input (400,
 * `invalid tar archive: …` as moby's archive/tar says; a cut one `unexpected EOF`), anything else (disk, store)
 * stays what it was.
 */
export function archiveFault(err: unknown): unknown {
  if (isFault(err)) return err;
  if (err instanceof Error && truncatedTar.test(err.message)) return new Fault('invalid-argument', unexpectedEof, { cause: err });
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

/**
 * dockerd untars an imported, loaded or copied-in archive in a child process (chrootarchive) and answers that
 * child's complaint about a cut archive in these words; other failures stay as they are.
 */
export function untarFault(err: unknown): unknown {
  if (!isFault(err, 'invalid-argument') || err.message !== unexpectedEof) return err;
  return new Fault('invalid-argument', `Error processing tar file(exit status 1): ${unexpectedEof}`, { cause: err });
}
