/*
 * Slash-separated paths as Go's `path` package treats them, shared by the engine's builders and mount parsing:
 * lexical only, never touching the file system.
 */
import { posix } from 'node:path';

/** Go's path.Clean (and filepath.Clean on Linux): `.` and `..` resolved lexically, no trailing slash, '' is `.`. */
export function cleanPath(path: string): string {
  if (!path) return '.';
  const normal = posix.normalize(path);
  return normal.length > 1 && normal.endsWith('/') ? normal.slice(0, -1) : normal;
}

/** Whether a relative path, cleaned, climbs out of the directory it is relative to (`..` or `../…`). */
export function leavesRoot(relative: string): boolean {
  const clean = posix.normalize(relative);
  return clean === '..' || clean.startsWith('../');
}
