import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, test } from 'node:test';
import { gzipSync, zstdCompressSync } from 'node:zlib';
import { isFault } from '../../base/fault.ts';
import { waitFor } from '../../../test/support/ports.ts';
import { compressionOf, decompressStream, type LayerCompression } from './layer-compression.ts';

const plain = Buffer.from('a'.repeat(100_000) + 'the end\n');
const compressed: Record<LayerCompression, Buffer> = {
  none: plain,
  gzip: gzipSync(plain),
  zstd: zstdCompressSync(plain),
  bzip2: execFileSync('bzip2', ['-c'], { input: plain }),
  xz: execFileSync('xz', ['-c'], { input: plain }),
};

/** Feeds `input` in small chunks (so the magic bytes arrive split) and collects what comes out. */
async function through(input: Buffer, options: Parameters<typeof decompressStream>[0] = {}): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const source = Readable.from((function* () {
    for (let i = 0; i < input.length; i += 3) yield input.subarray(i, i + 3);
  })());
  const sink = new Writable({ write: (chunk: Buffer, _e, done) => (chunks.push(chunk), done()) });
  await pipeline(source, decompressStream(options), sink);
  return Buffer.concat(chunks);
}

/** Pids of this process's children running `name`. */
function childrenNamed(name: string): number[] {
  return readdirSync('/proc').filter((e) => /^\d+$/.test(e)).filter((pid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return stat.includes(`(${name})`) && Number(fields[1]) === process.pid && fields[0] !== 'Z';
    } catch {
      return false;
    }
  }).map(Number);
}

describe('layer compression', () => {
  test('the first bytes name each compression', () => {
    for (const [kind, bytes] of Object.entries(compressed)) assert.equal(compressionOf(bytes), kind);
    assert.equal(compressionOf(Buffer.alloc(0)), 'none');
  });

  test('every compression decompresses to the same bytes, whatever the chunking', async () => {
    for (const [kind, bytes] of Object.entries(compressed)) assert.ok((await through(bytes)).equals(plain), kind);
  });

  test('kept compressions pass through untouched and the detection is reported', async () => {
    let seen: LayerCompression | undefined;
    const out = await through(compressed.gzip, { keep: ['gzip'], onDetect: (c) => (seen = c) });
    assert.equal(seen, 'gzip');
    assert.ok(out.equals(compressed.gzip));
  });

  test('corrupt and truncated streams are the input’s fault, for every compression', async () => {
    const broken: [string, Buffer][] = [
      ['truncated gzip', compressed.gzip.subarray(0, 30)],
      ['corrupt gzip', Buffer.concat([compressed.gzip.subarray(0, 10), Buffer.alloc(200, 0xff)])],
      ['truncated zstd', compressed.zstd.subarray(0, 12)],
      ['truncated bzip2', compressed.bzip2.subarray(0, 40)],
      ['corrupt xz', Buffer.concat([compressed.xz.subarray(0, 6), Buffer.alloc(200, 7)])],
    ];
    for (const [what, bytes] of broken) {
      await assert.rejects(through(bytes), (err) => isFault(err, 'invalid-argument'), what);
    }
  });

  test('a reader that stops early ends the tool it was reading from', async () => {
    const big = execFileSync('xz', ['-c', '-0'], { input: Buffer.alloc(32 * 1024 * 1024) });
    let read = 0;
    const sink = new Writable({
      write: (chunk: Buffer, _e, done) => {
        read += chunk.length;
        done(read > 1024 * 1024 ? new Error('enough') : null);
      },
    });
    await assert.rejects(pipeline(Readable.from([big]), decompressStream(), sink), /enough/);
    // Killed at once; gone from /proc once reaped, which a loaded machine may take a moment for.
    await waitFor('the xz child to be killed', async () => childrenNamed('xz').length === 0, 5000);
  });
});
