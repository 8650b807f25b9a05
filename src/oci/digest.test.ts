import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Digester, digestOf, isDigest, parseDigest } from './digest.ts';

test('digests: sha256 and sha512 accepted, anything else refused with DIGEST_INVALID', () => {
  assert.equal(parseDigest(digestOf('x', 'sha512')).algorithm, 'sha512');
  assert.equal(parseDigest(digestOf('x')).hex.length, 64);
  for (const bad of ['sha256:abc', `md5:${'a'.repeat(32)}`, `sha256:${'A'.repeat(64)}`, 'nocolon', `sha256:${'a'.repeat(128)}`, '']) {
    assert.throws(() => parseDigest(bad), (err: { code?: string }) => err.code === 'DIGEST_INVALID', bad);
    assert.ok(!isDigest(bad));
  }
});

test('a Digester fed in pieces equals the digest of the whole and stays usable', () => {
  const digester = new Digester();
  digester.update(Buffer.from('hello '));
  const partial = digester.digest();
  digester.update(Buffer.from('world'));
  assert.equal(partial, digestOf('hello '));
  assert.equal(digester.digest(), digestOf('hello world'));
});
