import assert from 'node:assert/strict';
import { readdir, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { createLogger } from '../../base/log.ts';
import { RegistryClient } from '../../client/registry-client.ts';
import { digestOf } from '../../oci/digest.ts';
import { blobPath, graceSeconds, startGcFixture, type GcFixture } from '../../registry/gc/gc-fixture.ts';
import { startTestV1 } from '../../registry/v1/test-v1.ts';
import { imageManifest, pushBlob, putManifest } from '../../registry/v2/test-registry.ts';
import { RecordingSnapshotter } from '../../../test/support/recording-snapshotter.ts';
import { EventLog } from '../events.ts';
import { BlobLeases } from './blob-leases.ts';
import { ImageService } from './image-service.ts';
import { ImageStore } from './image-store.ts';

/** Stops at the first layer it applies until `open()`: a pull that takes as long as the test wants. */
class GatedSnapshotter extends RecordingSnapshotter {
  reached: Promise<void>;
  open!: () => void;
  #reached!: () => void;
  #gate: Promise<void>;

  constructor() {
    super();
    this.reached = new Promise((resolve) => (this.#reached = resolve));
    this.#gate = new Promise((resolve) => (this.open = resolve));
  }

  override async applyLayer(key: string, tar: Readable): Promise<{ size: number }> {
    this.#reached();
    await this.#gate;
    return super.applyLayer(key, tar);
  }
}

/** A two-layer image on a registry of its own, whose first layer the engine's store (`t`) already holds, unreferenced and old. */
async function slowPull(t: GcFixture, leases: boolean) {
  const source = await startTestV1();
  const [first, second] = ['first layer', 'second layer'].map((text) => Buffer.from(text.repeat(100)));
  const layers = await Promise.all([first, second].map((tar) => pushBlob(source.app, 'src/app', gzipSync(tar))));
  const config = await pushBlob(source.app, 'src/app', JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [digestOf(first), digestOf(second)] } }));
  assert.equal((await putManifest(source.app, 'src/app', 'v1', imageManifest(config, layers))).statusCode, 201);
  // Left by an image deleted long ago: nothing names it, and its last use is past the grace period.
  await pushBlob(t.app, 'elsewhere', gzipSync(first));
  await t.age();
  const snapshotter = new GatedSnapshotter();
  const images = new ImageService({
    store: new ImageStore({ dir: join(t.root, 'engine', 'images'), blobs: t.blobs }),
    blobs: t.blobs,
    snapshotter,
    registry: new RegistryClient(),
    events: new EventLog(),
    logger: createLogger({ level: 'silent' }),
    ...(leases ? { leases: new BlobLeases(join(t.root, 'engine', 'leases')) } : {}),
  });
  const host = (await source.url()).replace('http://', '');
  const pulling = images.pull(`${host}/src/app:v1`);
  pulling.catch(() => undefined);
  await snapshotter.reached;
  // The pull touched the layer it already had; make it look as if the rest took longer than the grace period.
  const past = new Date(Date.now() - 2 * graceSeconds * 1000);
  await utimes(blobPath(t.root, layers[0].digest), past, past);
  return { layer: layers[0].digest, pulling, finish: () => snapshotter.open(), close: () => source.close() };
}

test('a collection while a pull is slower than the grace period keeps the layer the pull already had: the pull holds a lease', async () => {
  const t = await startGcFixture();
  try {
    const pull = await slowPull(t, true);
    try {
      const leases = await readdir(join(t.root, 'engine', 'leases'));
      assert.equal(leases.length, 1);
      assert.deepEqual((await t.collect()).removed, []);
      pull.finish();
      const record = await pull.pulling;
      assert.equal(record.layers[0].blob, pull.layer);
      assert.deepEqual(await readdir(join(t.root, 'engine', 'leases')), [], 'the lease is dropped once images.json names the image');
      await t.age();
      assert.deepEqual((await t.collect()).removed, []);
      assert.ok((await t.present()).includes(pull.layer));
    } finally {
      pull.finish();
      await pull.close();
    }
  } finally {
    await t.close();
  }
});

test('without the lease the same collection removes the layer the pull is about to record', async () => {
  const t = await startGcFixture();
  try {
    const pull = await slowPull(t, false);
    try {
      assert.deepEqual((await t.collect()).removed, [pull.layer]);
    } finally {
      pull.finish();
      await pull.pulling.catch(() => undefined);
      await pull.close();
    }
  } finally {
    await t.close();
  }
});
