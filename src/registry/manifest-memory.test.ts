import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { imageManifest, pushBlob, putManifest, startTestRegistry, type TestRegistry } from './v2/test-registry.ts';

// A full collection on demand without --expose-gc on the command line.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** What the process holds for JavaScript after a full collection: heap plus the buffers outside it. */
function retained(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

let t: TestRegistry;

before(async () => {
  t = await startTestRegistry();
});

after(async () => {
  await t.close();
});

// issue 8: registry memory grew from 120 to 470 MB under large manifests and stayed there. 64 MiB of it was the
// manifest cache holding every large body; the rest was the allocator (docs/benchmarks.md).
test('after a burst of large manifest PUTs and GETs, retained memory returns near its idle level', async () => {
  const config = await pushBlob(t.app, 'memory/burst', JSON.stringify({ architecture: 'amd64', os: 'linux' }));
  const layer = await pushBlob(t.app, 'memory/burst', 'layer');
  const warm = await putManifest(t.app, 'memory/burst', 'warm', imageManifest(config, [layer]));
  assert.equal(warm.statusCode, 201);
  const idle = retained();
  const size = 3.5 * 1024 * 1024;
  for (let i = 0; i < 40; i++) {
    const body = imageManifest(config, [layer], { annotations: { pad: randomBytes(size / 2).toString('hex') } });
    const put = await putManifest(t.app, 'memory/burst', `t${i}`, body);
    assert.equal(put.statusCode, 201, put.body);
    const get = await t.app.inject({ method: 'GET', url: `/v2/memory/burst/manifests/t${i}`, headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(get.rawPayload.length, Buffer.byteLength(body));
  }
  const grown = retained() - idle;
  assert.ok(grown < 16 * 1024 * 1024, `retained ${(grown / 1048576).toFixed(1)} MiB more than idle after 140 MiB of manifests`);
});
