import assert from 'node:assert/strict';
import { chmodSync, chownSync, existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
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
    assert.ok(lstatSync(join(root, 'etc', 'linked')).isSymbolicLink(), 'a symlink at the destination is followed, as moby does…');
    assert.equal(readFileSync(join(root, 'etc', 'passwd'), 'utf8'), 'mine\n', '…inside the root');
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

test('a copied tree replaces what is in the way, takes the owner asked for and keeps modes and times', async () => {
  const base = mkdtempSync(join(tmpdir(), 'wharf-scoped-'));
  try {
    const root = join(base, 'rootfs');
    const tree = join(base, 'tree');
    mkdirSync(join(tree, 'sub'), { recursive: true });
    writeFileSync(join(tree, 'sub', 'f'), 'f\n');
    chownSync(join(tree, 'sub', 'f'), 12, 34);
    chmodSync(join(tree, 'sub', 'f'), 0o4755);
    utimesSync(join(tree, 'sub', 'f'), new Date('2001-01-01T00:00:00Z'), new Date('2001-01-01T00:00:00Z'));
    mkdirSync(join(root, 'dest'), { recursive: true });
    symlinkSync('/etc', join(root, 'dest', 'sub'));
    await copyIntoRoot(tree, root, '/dest');
    assert.ok(lstatSync(join(root, 'dest', 'sub')).isDirectory(), 'a symlink where a directory is copied is replaced, never followed');
    const f = lstatSync(join(root, 'dest', 'sub', 'f'));
    assert.deepEqual([f.uid, f.gid, f.mode & 0o7777, f.mtime.toISOString()], [0, 0, 0o4755, '2001-01-01T00:00:00.000Z'], 'setuid survives the chown');
    linkSync(join(tree, 'sub', 'f'), join(tree, 'hard'));
    await copyIntoRoot(tree, root, '/kept', { owner: 'keep' });
    assert.equal(lstatSync(join(root, 'kept', 'hard')).ino, lstatSync(join(root, 'kept', 'sub', 'f')).ino, 'hardlinks within a tree stay one file');
    assert.deepEqual([lstatSync(join(root, 'kept', 'sub', 'f')).uid, lstatSync(join(root, 'kept', 'sub', 'f')).gid], [12, 34]);
    await copyIntoRoot(join(tree, 'sub', 'f'), root, '/a/b/c', { owner: { uid: 5, gid: 6 }, mode: 0o600 });
    assert.deepEqual([lstatSync(join(root, 'a')).uid, lstatSync(join(root, 'a', 'b')).gid, lstatSync(join(root, 'a', 'b', 'c')).mode & 0o7777], [5, 6, 0o600]);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});
