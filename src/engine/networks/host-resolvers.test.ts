import assert from 'node:assert/strict';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeTempDir } from '../../../test/support/temp.ts';
import { hostResolvers, parseNameservers } from './host-resolvers.ts';

test('nameserver lines are read in order; comments, options and search lines are not nameservers', () => {
  const text = '# generated\nsearch example.com\nnameserver 10.0.0.1\n  nameserver   192.0.2.53  \noptions ndots:2\nnameserver ::1\nnameserver\n';
  assert.deepEqual(parseNameservers(text), ['10.0.0.1', '192.0.2.53', '::1']);
});

test('the host resolvers are re-read when resolv.conf is replaced, and a missing file has none', () => {
  const dir = makeTempDir('wharf-resolv-');
  try {
    const path = join(dir.path, 'resolv.conf');
    writeFileSync(path, 'nameserver 10.0.0.1\n');
    const read = hostResolvers(path);
    assert.deepEqual(read(), ['10.0.0.1']);
    writeFileSync(join(dir.path, 'next'), 'nameserver 10.0.0.2\nnameserver 10.0.0.3\n');
    renameSync(join(dir.path, 'next'), path);
    assert.deepEqual(read(), ['10.0.0.2', '10.0.0.3']);
    rmSync(path);
    assert.deepEqual(read(), []);
  } finally {
    dir.remove();
  }
});
