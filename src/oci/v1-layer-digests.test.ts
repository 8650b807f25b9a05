import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { V1LayerDigester, type V1LayerSums } from './v1-layer-digests.ts';

interface Entry {
  name: string;
  data?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  uname?: string;
  gname?: string;
  typeflag?: string;
  pax?: Record<string, string>;
}

/** One ustar header block written byte by byte, as Go's archive/tar would for these fields (mtime 0). */
function header(fields: { name: string; size: number; mode: number; uid: number; gid: number; typeflag: string; uname: string; gname: string }): Buffer {
  const block = Buffer.alloc(512);
  const octal = (value: number, width: number) => `${value.toString(8).padStart(width - 1, '0')}\0`;
  block.write(fields.name, 0, 100, 'latin1');
  block.write(octal(fields.mode, 8), 100);
  block.write(octal(fields.uid, 8), 108);
  block.write(octal(fields.gid, 8), 116);
  block.write(octal(fields.size, 12), 124);
  block.write(octal(0, 12), 136);
  block.write('        ', 148);
  block.write(fields.typeflag, 156);
  block.write('ustar\0', 257);
  block.write('00', 263);
  block.write(fields.uname, 265);
  block.write(fields.gname, 297);
  block.write(octal(0, 8), 329);
  block.write(octal(0, 8), 337);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return block;
}

function padded(data: Buffer): Buffer {
  return Buffer.concat([data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
}

/** A tar of the entries (PAX records become an `x` header before their entry), closed by two zero blocks. */
function tarOf(entries: Entry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = Buffer.from(e.data ?? '');
    const common = { mode: e.mode ?? 0, uid: e.uid ?? 0, gid: e.gid ?? 0, uname: e.uname ?? '', gname: e.gname ?? '' };
    if (e.pax) {
      const records = Buffer.from(Object.entries(e.pax).map(([k, v]) => paxRecord(k, v)).join(''));
      parts.push(header({ ...common, name: 'PaxHeaders/x', size: records.length, typeflag: 'x' }), padded(records));
    }
    parts.push(header({ ...common, name: e.name, size: data.length, typeflag: e.typeflag ?? '0' }), padded(data));
  }
  return Buffer.concat([...parts, Buffer.alloc(1024)]);
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = body.length + 1;
  while (`${length}${body}`.length !== length) length = `${length}${body}`.length;
  return `${length}${body}`;
}

async function sumsOf(layer: Buffer, json = ''): Promise<V1LayerSums> {
  const digester = new V1LayerDigester(json);
  const chunks = [];
  // Odd-sized chunks so header blocks and gzip frames straddle writes.
  for (let i = 0; i < layer.length; i += 7) chunks.push(layer.subarray(i, i + 7));
  await pipeline(Readable.from(chunks), digester, new Writable({ write: (_chunk, _encoding, done) => done() }));
  return digester.sums;
}

// Vectors from moby pkg/tarsum tarsum_test.go (TestIteration): one entry written by Go's tar writer, Sum(nil).
test('the TarSums of a tar read from the stream match moby vectors for v0, v1 and xattrs', async () => {
  const file = await sumsOf(tarOf([{ name: 'file.txt' }]));
  assert.ok(file.tarsums.includes('tarsum+sha256:626c4a2e9a467d65c33ae81f7f3dedd4de8ccaee72af73223c4bc4718cbc7bbd'));
  assert.ok(file.tarsums.includes('tarsum.v1+sha256:6ffd43a1573a9913325b4918e124ee982a99c0f3cba90fc032a65f5e20bdd465'));
  const owned = { uid: 1000, gid: 1000, uname: 'slartibartfast', gname: 'users', data: 'test' };
  const another = await sumsOf(tarOf([{ name: 'another.txt', ...owned }]));
  assert.ok(another.tarsums.includes('tarsum.v1+sha256:b38166c059e11fb77bef30bf16fba7584446e80fcc156ff46d47e36c5305d8ef'));
  const xattrs = await sumsOf(tarOf([{ name: 'xattrs.txt', ...owned, pax: { 'SCHILY.xattr.user.key1': 'value1', 'SCHILY.xattr.user.key2': 'value2' } }]));
  assert.ok(xattrs.tarsums.includes('tarsum.v1+sha256:4cc2e71ac5d31833ab2be9b4f7842a14ce595ec96a37af4ed08f87bc374228cd'));
  const upper = await sumsOf(tarOf([{ name: 'xattrs.txt', ...owned, pax: { 'SCHILY.xattr.user.KEY1': 'value1', 'SCHILY.xattr.user.key2': 'value2' } }]));
  assert.ok(upper.tarsums.includes('tarsum.v1+sha256:65f4284fa32c0d4112dd93c3637697805866415b570587e4fd266af241503760'));
  const v0 = await sumsOf(tarOf([{ name: 'xattrs.txt', ...owned, pax: { 'SCHILY.xattr.user.NOT': 'CALCULATED' } }]));
  assert.ok(v0.tarsums.includes('tarsum+sha256:c12bb6f1303a9ddbf4576c52da74973c00d14c109bcfa76b708d5da1154a07fa'), 'v0 ignores xattrs');
});

test('a gzipped layer has the same diff_id and TarSums as its tar, and the payload covers json + newline + bytes sent', async () => {
  const tar = tarOf([{ name: 'etc/', typeflag: '5', mode: 0o755 }, { name: 'etc/motd', data: 'hello', mode: 0o644 }]);
  const gz = gzipSync(tar);
  const json = '{"id":"x"}';
  const plain = await sumsOf(tar, json);
  const zipped = await sumsOf(gz, json);
  assert.equal(plain.compression, 'none');
  assert.equal(zipped.compression, 'gzip');
  assert.equal(zipped.diffId, plain.diffId);
  assert.deepEqual(zipped.tarsums, plain.tarsums);
  assert.equal(zipped.size, gz.length);
  const { createHash } = await import('node:crypto');
  assert.equal(zipped.payload, `sha256:${createHash('sha256').update(`${json}\n`).update(gz).digest('hex')}`);
  assert.equal(plain.diffId, `sha256:${createHash('sha256').update(tar).digest('hex')}`);
});

test('an empty tar (1024 zero bytes) is the empty layer; its TarSum is sha256 of the extra alone', async () => {
  const empty = await sumsOf(Buffer.alloc(1024), 'abc');
  const { createHash } = await import('node:crypto');
  assert.equal(empty.tarsums[0], `tarsum+sha256:${createHash('sha256').update('abc').digest('hex')}`);
  assert.equal(empty.diffId, 'sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef');
});

test('layers that are not a tar, or use a compression a schema2 layer cannot name, are refused', async () => {
  await assert.rejects(sumsOf(Buffer.from('this is not a tar archive, just text '.repeat(20))), /not a tar archive/);
  await assert.rejects(sumsOf(Buffer.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4])), /not valid gzip/);
  await assert.rejects(sumsOf(Buffer.concat([Buffer.from('BZh91AY&SY'), Buffer.alloc(100)])), /bzip2-compressed layers are not supported/);
  await assert.rejects(sumsOf(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0, 0])), /xz-compressed/);
  await assert.rejects(sumsOf(tarOf([{ name: 'x', data: 'y' }]).subarray(0, 700)), /not a tar archive/, 'a truncated tar');
});

test('a large layer streams through with back-pressure and the right sizes', async () => {
  const big = Buffer.alloc(6 * 1024 * 1024, 7);
  const tar = tarOf([{ name: 'big.bin', data: big.toString('latin1') }]);
  const digester = new V1LayerDigester('{}');
  let seen = 0;
  await pipeline(
    Readable.from([tar.subarray(0, 3_000_000), tar.subarray(3_000_000)]),
    digester,
    new Writable({ highWaterMark: 1024, write: (chunk: Buffer, _encoding, done) => ((seen += chunk.length), setImmediate(done)) }),
  );
  assert.equal(seen, tar.length);
  assert.equal(digester.sums.size, tar.length);
});
