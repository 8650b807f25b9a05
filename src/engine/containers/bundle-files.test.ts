import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { hostsFile, readRootfsFile, resolvConf, resolveUser } from './bundle-files.ts';

const files: Record<string, string> = {
  'etc/passwd': 'root:x:0:0:root:/root:/bin/sh\nwww:x:33:33:www:/var/www:/bin/false\n1000:x:1001:1001::/home/odd:/bin/sh\n',
  'etc/group': 'root:x:0:\nwww:x:33:\nstaff:x:50:www\nadm:x:4:www,root\n',
};
const read = async (path: string) => files[path];

describe('resolveUser', () => {
  test('names, uids and groups resolve like docker, with supplementary groups and HOME', async () => {
    assert.deepEqual(await resolveUser(read, ''), { uid: 0, gid: 0, additionalGids: [4], home: '/root' });
    assert.deepEqual(await resolveUser(read, 'www'), { uid: 33, gid: 33, additionalGids: [50, 4], home: '/var/www' });
    assert.deepEqual(await resolveUser(read, '33:staff'), { uid: 33, gid: 50, additionalGids: [4], home: '/var/www' });
    assert.deepEqual(await resolveUser(read, '4242:4243'), { uid: 4242, gid: 4243, additionalGids: [], home: '/' });
    // A name that looks like a number matches by name first.
    assert.equal((await resolveUser(read, '1000')).uid, 1001);
  });

  test('unknown names are refused with moby\'s words', async () => {
    await assert.rejects(resolveUser(read, 'ghost'), /unable to find user ghost: no matching entries in passwd file/);
    await assert.rejects(resolveUser(read, 'www:ghosts'), /unable to find group ghosts/);
  });
});

test('resolv.conf drops loopback resolvers in a private network and falls back to moby\'s defaults', () => {
  const host = 'search example.com\nnameserver 127.0.0.53\noptions edns0\n';
  assert.equal(resolvConf(host, { network: 'private' }), 'search example.com\noptions edns0\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n');
  assert.equal(resolvConf(host, { network: 'host' }), 'search example.com\noptions edns0\nnameserver 127.0.0.53\n');
  assert.equal(resolvConf('nameserver 10.0.0.2\n', { network: 'private' }), 'nameserver 10.0.0.2\n');
  assert.equal(resolvConf(host, { network: 'private', dns: ['1.1.1.1'] }), 'search example.com\noptions edns0\nnameserver 1.1.1.1\n');
});

test('hosts names the container unless it shares the host network, and carries extra hosts', () => {
  assert.match(hostsFile({ hostname: 'box', network: 'private', extraHosts: ['10.0.0.1\tdb'] }), /^10\.0\.0\.1\tdb$[\s\S]*^127\.0\.1\.1\tbox$/m);
  assert.doesNotMatch(hostsFile({ hostname: 'box', network: 'host' }), /box/);
});

test('a rootfs file is read from the upper dir first, and a whiteout hides the lower one', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-rootfs-'));
  try {
    for (const d of ['upper/etc', 'lower1/etc', 'lower2/etc']) await mkdir(join(dir, d), { recursive: true });
    await writeFile(join(dir, 'lower2/etc/passwd'), 'low');
    await writeFile(join(dir, 'lower1/etc/group'), 'mid');
    await writeFile(join(dir, 'upper/etc/group'), 'top');
    const mounts = [{ type: 'overlay', source: 'overlay', options: [`upperdir=${dir}/upper`, `lowerdir=${dir}/lower1:${dir}/lower2`] }];
    assert.equal(await readRootfsFile(mounts, 'etc/passwd'), 'low');
    assert.equal(await readRootfsFile(mounts, 'etc/group'), 'top');
    assert.equal(await readRootfsFile(mounts, 'etc/shadow'), undefined);
    assert.equal(await readRootfsFile([{ type: 'bind', source: join(dir, 'lower1'), options: [] }], 'etc/group'), 'mid');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
