import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { TarSum, type TarSumHeader, tarSumHeaderBytes } from './v1-tarsum.ts';

const header = (fields: Partial<Omit<TarSumHeader, 'name'>> & { name: string }): TarSumHeader => ({
  mode: 0,
  uid: 0,
  gid: 0,
  size: 0,
  mtime: 0,
  typeflag: '0',
  uname: '',
  gname: '',
  devmajor: 0,
  devminor: 0,
  xattrs: [],
  ...fields,
  name: Buffer.from(fields.name),
  linkname: Buffer.alloc(0),
});

function sumOf(h: TarSumHeader, data: string, extra?: string): Record<string, string> {
  const sum = new TarSum();
  sum.entry(h);
  sum.update(Buffer.from(data));
  return sum.digest(extra);
}

test('header bytes: v0 names every field in order, v1 drops mtime and appends xattrs sorted by key', () => {
  const h = header({ name: 'a', mtime: 5, xattrs: [['user.b', '2'], ['user.a', '1']] });
  assert.equal(tarSumHeaderBytes('tarsum', h).toString(), 'namea' + 'mode0uid0gid0size0mtime5typeflag0linknameunamegnamedevmajor0devminor0');
  assert.equal(tarSumHeaderBytes('tarsum.v1', h).toString(), 'namea' + 'mode0uid0gid0size0typeflag0linknameunamegnamedevmajor0devminor0user.a1user.b2');
  assert.deepEqual(tarSumHeaderBytes('tarsum.dev', h), tarSumHeaderBytes('tarsum.v1', h));
});

// moby pkg/tarsum tarsum_test.go, TestIteration: the header fields as Go's tar reader reports them.
test('TarSum matches moby vectors', () => {
  assert.equal(sumOf(header({ name: 'file.txt' }), '').tarsum, 'tarsum+sha256:626c4a2e9a467d65c33ae81f7f3dedd4de8ccaee72af73223c4bc4718cbc7bbd');
  assert.equal(sumOf(header({ name: 'file.txt' }), '')['tarsum.v1'], 'tarsum.v1+sha256:6ffd43a1573a9913325b4918e124ee982a99c0f3cba90fc032a65f5e20bdd465');
  const owned = { uid: 1000, gid: 1000, uname: 'slartibartfast', gname: 'users', size: 4 };
  assert.equal(sumOf(header({ name: 'another.txt', ...owned }), 'test')['tarsum.v1'], 'tarsum.v1+sha256:b38166c059e11fb77bef30bf16fba7584446e80fcc156ff46d47e36c5305d8ef');
  const xattrs: [string, string][] = [['user.key1', 'value1'], ['user.key2', 'value2']];
  assert.equal(sumOf(header({ name: 'xattrs.txt', ...owned, xattrs }), 'test')['tarsum.v1'], 'tarsum.v1+sha256:4cc2e71ac5d31833ab2be9b4f7842a14ce595ec96a37af4ed08f87bc374228cd');
  assert.equal(sumOf(header({ name: 'xattrs.txt', ...owned, xattrs: [['user.NOT', 'CALCULATED']] }), 'test').tarsum, 'tarsum+sha256:c12bb6f1303a9ddbf4576c52da74973c00d14c109bcfa76b708d5da1154a07fa');
});

test('the extra is hashed first, then the entry sums sorted, duplicates included; no entries sum the extra alone', () => {
  const sha = (s: string) => createHash('sha256').update(s).digest('hex');
  assert.equal(new TarSum().digest('json').tarsum, `tarsum+sha256:${sha('json')}`);
  const a = sha(`${tarSumHeaderBytes('tarsum', header({ name: 'a' }))}x`);
  const b = sha(`${tarSumHeaderBytes('tarsum', header({ name: 'b' }))}y`);
  const sum = new TarSum();
  sum.entry(header({ name: 'b' }));
  sum.update(Buffer.from('y'));
  sum.entry(header({ name: 'a' }));
  sum.update(Buffer.from('x'));
  sum.entry(header({ name: 'a' }));
  sum.update(Buffer.from('x'));
  assert.equal(sum.digest('json').tarsum, `tarsum+sha256:${sha(`json${[a, a, b].sort().join('')}`)}`);
});
