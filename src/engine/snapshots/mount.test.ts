import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isMountPoint, mountAll, mountCommand, unmount, unmountUnder } from './mount.ts';

test('mount commands: bind, overlay, and an overlay too long for one page uses relative paths', () => {
  assert.deepEqual(mountCommand({ type: 'bind', source: '/a', options: ['ro', 'rbind'] }), { args: ['--rbind', '/a'] });
  assert.deepEqual(mountCommand({ type: 'overlay', source: 'overlay', options: ['lowerdir=/s/1/fs:/s/2/fs'] }), {
    args: ['-t', 'overlay', 'overlay', '-o', 'lowerdir=/s/1/fs:/s/2/fs'],
  });
  const lowers = Array.from({ length: 200 }, (_, i) => `/var/lib/wharf/engine/snapshots/${i}/fs`);
  const long = mountCommand({ type: 'overlay', source: 'overlay', options: ['index=off', 'upperdir=/var/lib/wharf/engine/snapshots/999/fs', `lowerdir=${lowers.join(':')}`] });
  assert.equal(long.cwd, '/var/lib/wharf/engine/snapshots');
  assert.ok(long.args[4].startsWith('index=off,upperdir=999/fs,lowerdir=0/fs:1/fs:'));
});

test('mountAll stacks an overlay and a read-only bind; unmountUnder removes stale mounts', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-mount-'));
  try {
    for (const d of ['lower1', 'lower2', 'upper', 'work', 'merged', 'ro']) await mkdir(join(dir, d));
    await writeFile(join(dir, 'lower1/a'), 'a1');
    await writeFile(join(dir, 'lower2/a'), 'a2');
    await writeFile(join(dir, 'lower2/b'), 'b2');
    const merged = join(dir, 'merged');
    await mountAll(
      [{ type: 'overlay', source: 'overlay', options: [`workdir=${dir}/work`, `upperdir=${dir}/upper`, `lowerdir=${dir}/lower1:${dir}/lower2`] }],
      merged,
    );
    assert.equal(await readFile(join(merged, 'a'), 'utf8'), 'a1');
    assert.equal(await readFile(join(merged, 'b'), 'utf8'), 'b2');
    await mountAll([{ type: 'bind', source: join(dir, 'lower2'), options: ['ro', 'rbind'] }], join(dir, 'ro'));
    await assert.rejects(writeFile(join(dir, 'ro/c'), 'x'), /EROFS/);
    assert.equal(await isMountPoint(merged), true);
    assert.deepEqual((await unmountUnder(dir)).sort(), [merged, join(dir, 'ro')].sort());
    assert.equal(await isMountPoint(merged), false);
    await unmount(merged);
    await assert.rejects(mountAll([{ type: 'overlay', source: 'overlay', options: ['lowerdir=/nonexistent-wharf'] }], merged), /mount overlay/);
  } finally {
    await unmountUnder(dir);
    await rm(dir, { recursive: true, force: true });
  }
});
