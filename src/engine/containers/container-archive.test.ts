import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { goFileMode } from './container-archive.ts';

test('goFileMode puts the type and special bits where Go os.FileMode has them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-filemode-'));
  try {
    mkdirSync(join(dir, 'd'), { mode: 0o755 });
    chmodSync(join(dir, 'd'), 0o1777);
    writeFileSync(join(dir, 'f'), '');
    chmodSync(join(dir, 'f'), 0o4755);
    symlinkSync('f', join(dir, 'l'));
    assert.equal(goFileMode(lstatSync(join(dir, 'd'))), (2 ** 31 + 2 ** 20 + 0o777) >>> 0);
    assert.equal(goFileMode(lstatSync(join(dir, 'f'))), 2 ** 23 + 0o755);
    assert.equal(goFileMode(lstatSync(join(dir, 'l'))), 2 ** 27 + 0o777);
    assert.equal(goFileMode(lstatSync('/dev/null')), 2 ** 26 + 2 ** 21 + 0o666);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
