import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { copyIntoRoot, resolveInRoot } from './scoped-copy.ts';

test('symlinks in the image resolve inside the root, so a copy never writes to the host through them', async () => {
  const base = mkdtempSync(join(tmpdir(), 'wharf-scoped-'));
  try {
    const root = join(base, 'rootfs');
    const host = join(base, 'host-secret-dir');
    mkdirSync(join(root, 'etc'), { recursive: true });
    mkdirSync(host);
    symlinkSync(host, join(root, 'app'));
    symlinkSync('../../../../..', join(root, 'up'));
    symlinkSync('/etc/passwd', join(root, 'etc', 'linked'));
    writeFileSync(join(base, 'config'), 'mine\n');
    assert.equal(await resolveInRoot(root, '/app/x'), join(root, host, 'x'));
    assert.equal(await resolveInRoot(root, '/up/etc'), join(root, 'etc'));
    await copyIntoRoot(join(base, 'config'), root, '/app/config');
    assert.ok(!existsSync(join(host, 'config')), 'nothing written to the host directory');
    assert.equal(readFileSync(join(root, host, 'config'), 'utf8'), 'mine\n');
    await copyIntoRoot(join(base, 'config'), root, '/etc/linked');
    assert.ok(lstatSync(join(root, 'etc', 'linked')).isFile(), 'a symlink at the destination is replaced, not followed');
    mkdirSync(join(base, 'tree', 'sub'), { recursive: true });
    writeFileSync(join(base, 'tree', 'sub', 'f'), 'f\n');
    symlinkSync('sub/f', join(base, 'tree', 'link'));
    await copyIntoRoot(join(base, 'tree'), root, '/up/dest');
    assert.equal(readFileSync(join(root, 'dest', 'sub', 'f'), 'utf8'), 'f\n');
    assert.equal(readlinkSync(join(root, 'dest', 'link')), 'sub/f');
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});
