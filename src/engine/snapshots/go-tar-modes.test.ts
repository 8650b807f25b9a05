import assert from 'node:assert/strict';
import { linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, test } from 'node:test';
import tar from 'tar-stream';
import { runOk } from '../../../test/support/run.ts';
import { goTarModes } from './go-tar-modes.ts';

const dir = mkdtempSync(join(tmpdir(), 'wharf-go-tar-modes-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Each entry's name, type and mode (octal) as tar-stream reads them, and each file's content. */
async function read(bytes: Buffer): Promise<string[]> {
  const out: string[] = [];
  const extract = tar.extract();
  extract.on('entry', (h, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: unknown) => chunks.push(c as Buffer));
    stream.on('end', () => {
      out.push(`${h.name} ${h.type} ${(h.mode ?? 0).toString(8)}${chunks.length ? ` ${Buffer.concat(chunks).length}` : ''}`);
      next();
    });
  });
  const done = new Promise((resolve, reject) => extract.on('finish', () => resolve(undefined)).on('error', reject));
  extract.end(bytes);
  await done;
  return out;
}

/** `bytes` through goTarModes in chunks of `size` (headers split across chunks). */
async function transformed(bytes: Buffer, size: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, at + size));
  const out: Buffer[] = [];
  await pipeline(Readable.from(chunks), goTarModes(), async (source: AsyncIterable<Buffer>) => {
    for await (const c of source) out.push(c);
  });
  return Buffer.concat(out);
}

test('GNU tar’s headers get the file type bits as Go’s FileInfoHeader writes them; the data is untouched', async () => {
  const root = join(dir, 'root');
  mkdirSync(join(root, 'd'), { recursive: true });
  writeFileSync(join(root, 'd/f'), 'x'.repeat(700));
  linkSync(join(root, 'd/f'), join(root, 'd/g'));
  symlinkSync('f', join(root, 'd/s'));
  writeFileSync(join(root, 'd/.wh.gone'), '');
  await runOk('mkfifo', [join(root, 'd/p')]);
  const file = join(dir, 'gnu.tar');
  await runOk('tar', ['--sort=name', '-C', root, '-cf', file, 'd']);
  const bytes = readFileSync(file);
  for (const size of [bytes.length, 100, 511, 513]) {
    assert.deepEqual(await read(await transformed(bytes, size)), [
      'd/ directory 40755',
      'd/.wh.gone file 644',
      'd/f file 100644 700',
      'd/g link 100644',
      'd/p fifo 10644',
      'd/s symlink 120777',
    ]);
  }
  // GNU tar reads it back (checksums rewritten correctly).
  const out = join(dir, 'out');
  mkdirSync(out);
  const rewritten = join(dir, 'rewritten.tar');
  writeFileSync(rewritten, await transformed(bytes, 4096));
  await runOk('tar', ['-C', out, '-xf', rewritten]);
  assert.equal(readFileSync(join(out, 'd/g'), 'utf8'), 'x'.repeat(700));
});
