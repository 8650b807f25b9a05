import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { pack, type Header } from 'tar-stream';
import { isFault } from '../../base/fault.ts';
import { applyLayerTar } from './layer-apply.ts';

/** A layer tar of `entries` (bodies as strings), as a stream. */
function layer(entries: (Partial<Header> & { name: string; body?: string })[]): Readable {
  const tar = pack();
  for (const { body, ...header } of entries) tar.entry(header, body ?? '');
  tar.finalize();
  return tar as unknown as Readable;
}

describe('applying a hostile layer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-layer-apply-'));
  const outside = join(dir, 'outside');
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret'), 'host secret\n');
  let n = 0;
  const fresh = () => {
    const root = join(dir, `root-${n++}`);
    mkdirSync(root);
    return root;
  };
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a hardlink that climbs out is refused with moby’s wording', async () => {
    const refused = applyLayerTar(layer([{ name: 'a', type: 'link', linkname: '../../outside/secret' }]), { root: fresh(), lowers: [] });
    await assert.rejects(refused, (err) => isFault(err, 'invalid-argument') && /invalid hardlink "a" -> "..\/..\/outside\/secret"/.test(err.message));
  });

  test('absolute names and absolute hardlinks stay inside the root', async () => {
    const root = fresh();
    await applyLayerTar(layer([{ name: `${outside}/planted`, body: 'x' }, { name: 'link', type: 'link', linkname: `${outside}/planted` }]), { root, lowers: [] });
    assert.equal(readFileSync(join(root, outside.slice(1), 'planted'), 'utf8'), 'x');
    assert.equal(readFileSync(join(root, 'link'), 'utf8'), 'x');
    assert.ok(!existsSync(join(outside, 'planted')));
  });

  test('a hardlink to a lower layer’s file is not followed through a symlinked directory of that layer', async () => {
    const lower = fresh();
    symlinkSync(outside, join(lower, 'd'));
    const root = fresh();
    const refused = applyLayerTar(layer([{ name: 'copy', type: 'link', linkname: 'd/secret' }]), { root, lowers: [lower] });
    await assert.rejects(refused, (err) => isFault(err, 'invalid-argument'));
    assert.ok(!existsSync(join(root, 'copy')));
  });

  test('a header that claims more than the archive holds is an invalid archive, not a hang', async () => {
    const header = Buffer.alloc(512);
    header.write('huge', 0);
    header.write('0000644\0', 100);
    header.write((10 * 1024 ** 3).toString(8).padStart(12, '0'), 124);
    header.write('0', 156);
    header.write('ustar\u000000', 257, 'latin1');
    header.write('        ', 148);
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    const refused = applyLayerTar(Readable.from([header, Buffer.alloc(4096, 1)]), { root: fresh(), lowers: [] });
    await assert.rejects(refused, (err) => isFault(err, 'invalid-argument') && /invalid tar archive: Unexpected end of data/.test(err.message));
  });
});
