import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { withTempDir } from '../../../test/support/temp.ts';
import { deviceNumbers, entryHash, hashList, loadHostNames } from './source-hash.ts';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

test('directories and symlinks hash their tar header: a / after a directory name, the link target', async () => {
  await withTempDir('wharf-source-hash-', async (base) => {
    mkdirSync(join(base, 'd'), { mode: 0o755 });
    symlinkSync('target', join(base, 'l'));
    const dir = await entryHash({ path: join(base, 'd'), name: 'd', st: lstatSync(join(base, 'd')) });
    assert.equal(dir, sha('named/mode493uid0gid0size0typeflag5linknameunamegnamedevmajor0devminor0'));
    const link = await entryHash({ path: join(base, 'l'), name: 'x/l', st: lstatSync(join(base, 'l')), link: 'target' });
    assert.equal(link, sha('namex/lmode511uid0gid0size0typeflag2linknametargetunamegnamedevmajor0devminor0'));
  });
});

test('device numbers split as glibc does; lists hash comma-joined with their prefix', () => {
  assert.deepEqual(deviceNumbers(statSync('/dev/null').rdev), [1, 3]);
  assert.deepEqual(deviceNumbers(286327664), [259, 70000], 'makedev(259, 70000): the high bits of both');
  assert.equal(hashList('dir', ['a', 'b']), `dir:${sha('a,b')}`);
  assert.equal(hashList('multi', []), `multi:${sha('')}`);
});

test("the host's names are read by id, the first entry of an id winning", async () => {
  const names = await loadHostNames();
  assert.equal(names.users.get(0), 'root');
  assert.equal(names.groups.get(0), 'root');
});
