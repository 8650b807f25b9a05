import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { corruptBlobs } from '../../src/registry/gc/gc-fixture.ts';
import { makeRandomLayerImage, type RandomLayerImage } from '../support/busybox.ts';
import { run } from '../support/run.ts';
import { skopeoCopy, skopeoDelete, skopeoInspect } from '../support/skopeo.ts';
import { makeTempDir, type TempDir } from '../support/temp.ts';
import { spawnWharfProcess, wharfBin, type WharfProcess } from '../support/wharf.ts';

/** `bin/wharf gc --root ROOT …` as a real process; stdout split in lines. */
async function wharfGc(root: string, ...args: string[]): Promise<string[]> {
  const result = await run(wharfBin, ['gc', '--root', root, ...args], { timeoutMs: 300_000 });
  assert.equal(result.code, 0, result.stderr);
  return result.stdout.trim().split('\n');
}

const blobsOf = (root: string) =>
  readdirSync(join(root, 'blobs', 'sha256'), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => `sha256:${e.name}`)
    .sort();

// Real clients: skopeo pushes to a running `wharf registry serve` process while the real `wharf gc` collects.
describe('wharf gc against a running registry', () => {
  let tmp: TempDir;
  let root: string;
  let wharf: WharfProcess;
  let keep: RandomLayerImage;
  let drop: RandomLayerImage;
  let big: RandomLayerImage;

  before(async () => {
    tmp = makeTempDir('wharf-gc-e2e-');
    root = join(tmp.path, 'root');
    mkdirSync(root);
    [keep, drop, big, wharf] = await Promise.all([
      makeRandomLayerImage(join(tmp.path, 'keep'), { layerBytes: 1024 * 1024 + 1, format: 'oci', tag: 'latest' }),
      makeRandomLayerImage(join(tmp.path, 'drop'), { layerBytes: 1024 * 1024 + 2, format: 'oci', tag: 'latest' }),
      makeRandomLayerImage(join(tmp.path, 'big'), { layerBytes: 200 * 1024 * 1024, format: 'oci', tag: 'latest' }),
      spawnWharfProcess({ root }),
    ]);
  });

  after(async () => {
    await wharf?.stop();
    tmp?.remove();
  });

  test('frees a deleted image and nothing else; --dry-run lists exactly what the real run removes', async () => {
    await skopeoCopy(keep.ref, `docker://${wharf.host}/gc/keep:v1`, { preserveDigests: true });
    await skopeoCopy(drop.ref, `docker://${wharf.host}/gc/drop:v1`, { preserveDigests: true });
    await skopeoDelete(`docker://${wharf.host}/gc/drop@${drop.manifestDigest}`);
    const before = blobsOf(root);
    const dry = await wharfGc(root, '--grace', '0', '--dry-run');
    assert.deepEqual(blobsOf(root), before, 'a dry run removes nothing');
    assert.match(dry.at(-1) ?? '', /^would free 3 blobs, \d+ bytes/);
    const real = await wharfGc(root, '--grace', '0');
    assert.deepEqual(real.slice(0, -1), dry.slice(0, -1), 'the same lines, blob by blob');
    assert.match(real.at(-1) ?? '', /^freed 3 blobs, \d+ bytes/);
    const freed = real.slice(0, -1).map((line) => line.split(' ')[1]).sort();
    assert.deepEqual(freed, [drop.configDigest, drop.layer.digest, drop.manifestDigest].sort());
    const back = join(tmp.path, 'back');
    await skopeoCopy(`docker://${wharf.host}/gc/keep:v1`, `oci:${back}:v1`, { preserveDigests: true });
    assert.equal((await skopeoInspect(`oci:${back}:v1`)).Digest, keep.manifestDigest);
    assert.deepEqual(await corruptBlobs(root), []);
  });

  test('collections running during a 200 MiB push and a pull lose nothing of either', { timeout: 600_000 }, async (ctx) => {
    const push = skopeoCopy(big.ref, `docker://${wharf.host}/gc/big:v1`, { preserveDigests: true });
    const pull = skopeoCopy(`docker://${wharf.host}/gc/keep:v1`, `oci:${join(tmp.path, 'pulled')}:v1`, { preserveDigests: true });
    let done = false;
    let overlapping = 0;
    let whole = 0;
    const collecting = (async () => {
      while (!done) {
        overlapping++;
        await wharfGc(root, '--grace', '30');
        // Started after the push did and finished before it: this whole collection ran beside the push. How many
        // fit depends on the host's speed (an idle host pushes 200 MiB faster than the CLI starts), so only the
        // overlap is asserted.
        if (!done) whole++;
      }
    })();
    await Promise.all([push, pull]).finally(() => (done = true));
    await collecting;
    ctx.diagnostic(`${overlapping} collections overlapped the push, ${whole} of them entirely inside it`);
    assert.ok(overlapping >= 1, 'a collection ran while the push was in flight');
    assert.equal((await skopeoInspect(`oci:${join(tmp.path, 'pulled')}:v1`)).Digest, keep.manifestDigest);
    await wharfGc(root, '--grace', '30');
    const back = join(tmp.path, 'big-back');
    await skopeoCopy(`docker://${wharf.host}/gc/big:v1`, `oci:${back}:v1`, { preserveDigests: true });
    assert.deepEqual((await skopeoInspect(`oci:${back}:v1`)).Layers, [big.layer.digest]);
    assert.deepEqual(await corruptBlobs(root), []);
  });

  test('kill -9 of a collection mid-sweep loses nothing referenced; the next one puts back what it had set aside', { timeout: 300_000 }, async () => {
    // Many unreferenced blobs, written as the store lays them out, so the sweep takes long enough to be killed.
    for (let i = 0; i < 4000; i++) {
      const data = Buffer.from(`garbage ${i}`);
      const hex = createHash('sha256').update(data).digest('hex');
      mkdirSync(join(root, 'blobs', 'sha256', hex.slice(0, 2)), { recursive: true });
      writeFileSync(join(root, 'blobs', 'sha256', hex.slice(0, 2), hex), data, { mode: 0o444 });
    }
    const referenced: string[] = [keep.configDigest ?? '', keep.layer.digest, keep.manifestDigest ?? '', big.configDigest ?? '', big.layer.digest, big.manifestDigest ?? ''];
    for (let attempt = 0; attempt < 3; attempt++) {
      const gc = spawn(wharfBin, ['gc', '--root', root, '--grace', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
      let lines = 0;
      await new Promise<void>((resolve) => {
        gc.stdout.on('data', (chunk: Buffer) => {
          lines += chunk.toString().split('\n').length - 1;
          if (lines >= 200 * (attempt + 1)) {
            gc.kill('SIGKILL');
            resolve();
          }
        });
        gc.once('exit', () => resolve());
      });
      await new Promise((resolve) => (gc.exitCode !== null || gc.signalCode !== null ? resolve(undefined) : gc.once('exit', resolve)));
      const present = new Set(blobsOf(root));
      for (const digest of referenced) assert.ok(present.has(digest), `attempt ${attempt}: ${digest} lost`);
    }
    const last = await wharfGc(root, '--grace', '0');
    assert.match(last.at(-1) ?? '', /^freed \d+ blobs/);
    assert.deepEqual(blobsOf(root), [...referenced].sort());
    assert.deepEqual(await corruptBlobs(root), []);
    await skopeoCopy(`docker://${wharf.host}/gc/keep:v1`, `oci:${join(tmp.path, 'after-kill')}:v1`, { preserveDigests: true });
  });
});
