import { Fault } from './fault.ts';

// SQLite's primary result code for "database or disk is full" (extended codes keep it in the low byte).
const sqliteFull = 13;

/**
 * The one place that decides an error means "no space left": ENOSPC, EDQUOT (a quota counts as full to the
 * writer), or SQLite's SQLITE_FULL, also when wrapped as the cause of another error.
 */
export function storageFullReason(err: unknown): string | undefined {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, errcode } = e as { code?: unknown; errcode?: unknown };
    if (code === 'ENOSPC' || code === 'EDQUOT') return code;
    if (code === 'ERR_SQLITE_ERROR' && typeof errcode === 'number' && (errcode & 0xff) === sqliteFull) return 'SQLITE_FULL';
  }
  return undefined;
}

/**
 * A Fault of kind storage-full naming the disk (the data root holding it) when `err` means the disk is full;
 * anything else is answered unchanged, so callers can rethrow the result whatever it is.
 */
export function asStorageFull(err: unknown, disk: string): unknown {
  if (err instanceof Fault) return err;
  const reason = storageFullReason(err);
  if (!reason) return err;
  return new Fault('storage-full', `insufficient storage: no space left on the disk holding ${disk} (${reason})`, {
    cause: err,
    detail: { disk, reason },
  });
}
