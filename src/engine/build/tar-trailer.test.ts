import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { isFault } from '../../base/fault.ts';
import { withTempDir } from '../../../test/support/temp.ts';
import { extractContextTar } from './context-tar.ts';

/** A GNU tar of two files whose last member's data ends at byte `end` (its padding and end blocks follow). */
function archive(dir: string): { tar: Buffer; end: number } {
  const src = join(dir, 'src');
  mkdirSync(src);
  writeFileSync(join(src, 'a.txt'), 'first\n');
  writeFileSync(join(src, 'Dockerfile'), 'FROM busybox\nRUN true\n');
  const tar = execFileSync('tar', ['-c', '-C', src, '--format=ustar', 'a.txt', 'Dockerfile']);
  return { tar, end: 3 * 512 + 'FROM busybox\nRUN true\n'.length };
}

test('a context cut right after its last member’s data (the CLI’s `-f -` stream) unpacks as Go’s reader takes it', async () => {
  await withTempDir('wharf-trailer-', async (dir) => {
    const { tar, end } = archive(dir);
    for (const cut of [end, end + 100, 4 * 512, tar.length]) {
      const out = join(dir, `out-${cut}`);
      await extractContextTar(Readable.from([tar.subarray(0, cut)]), out);
      assert.equal(readFileSync(join(out, 'Dockerfile'), 'utf8'), 'FROM busybox\nRUN true\n', `cut at ${cut}`);
      assert.equal(readFileSync(join(out, 'a.txt'), 'utf8'), 'first\n');
    }
  });
});

test('a context cut inside a member’s data or inside a header is still refused', async () => {
  await withTempDir('wharf-trailer-', async (dir) => {
    const { tar, end } = archive(dir);
    for (const cut of [end - 5, 2 * 512 + 100, 1 * 512 + 3]) {
      await assert.rejects(extractContextTar(Readable.from([tar.subarray(0, cut)]), join(dir, `bad-${cut}`)), (err) => isFault(err, 'invalid-argument'), `cut at ${cut}`);
    }
  });
});
