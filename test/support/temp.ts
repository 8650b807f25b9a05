import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TempDir {
  path: string;
  remove(): void;
}

/** A fresh directory under os.tmpdir(); `prefix` names its owner so a leftover is easy to trace. */
export function makeTempDir(prefix = 'wharf-test-'): TempDir {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Runs `work` with a temp dir that is removed afterwards, whether `work` succeeds or throws. */
export async function withTempDir<T>(prefix: string, work: (path: string) => Promise<T>): Promise<T> {
  const dir = makeTempDir(prefix);
  try {
    return await work(dir.path);
  } finally {
    dir.remove();
  }
}
