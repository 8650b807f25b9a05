import { utimes } from 'node:fs/promises';

/**
 * Sets a file's times to now; false when it is absent. The mtime of a blob file is its last use, which garbage
 * collection compares with its cutoff (FsDriver.removeIfUnusedSince).
 */
export async function touchFile(path: string, now = new Date()): Promise<boolean> {
  try {
    await utimes(path, now, now);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return false;
    throw err;
  }
}
