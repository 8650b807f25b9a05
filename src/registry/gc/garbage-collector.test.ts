import assert from 'node:assert/strict';
import { mkdir, rename, unlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { createLogger } from '../../base/log.ts';
import { SqliteGcIndex } from '../../meta/sqlite-gc-index.ts';
import { SqliteV1Store } from '../../meta/sqlite-v1-store.ts';
import { digestOf } from '../../oci/digest.ts';
import { mediaTypes } from '../../oci/media-types.ts';
import { imageManifest, pushBlob, pushImage, putManifest } from '../v2/test-registry.ts';
import { EngineRoots } from './engine-roots.ts';
import { GarbageCollector } from './garbage-collector.ts';
import { blobPath, corruptBlobs, startGcFixture } from './gc-fixture.ts';

test('a tagged image keeps its manifest, config and layers; an unreferenced blob goes once past the grace period', async () => {
  const t = await startGcFixture();
  try {
    const image = await pushImage(t.app, 'team/app', 'v1');
    const stray = await pushBlob(t.app, 'team/app', 'pushed, never referenced');
    assert.deepEqual((await t.collect()).removed, [], 'within the grace period nothing goes');
    await t.age();
    const result = await t.collect();
    assert.deepEqual(result.removed, [stray.digest]);
    assert.equal(result.bytes, stray.size);
    assert.deepEqual(await t.present(), [image.digest, image.config.digest, image.layer.digest].sort());
    assert.equal((await t.app.inject({ url: '/v2/team/app/manifests/v1' })).statusCode, 200);
    assert.equal((await t.app.inject({ url: `/v2/team/app/blobs/${stray.digest}` })).statusCode, 404);
  } finally {
    await t.close();
  }
});

test('an index keeps its child manifests and their blobs; a referrer keeps its blobs', async () => {
  const t = await startGcFixture();
  try {
    const child = await pushImage(t.app, 'multi', 'child');
    t.db.prepare("DELETE FROM tags WHERE repository = 'multi' AND tag = 'child'").run();
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: mediaTypes.ociIndex,
      manifests: [{ mediaType: mediaTypes.ociManifest, digest: child.digest, size: child.size, platform: { os: 'linux', architecture: 'amd64' } }],
    });
    assert.equal((await putManifest(t.app, 'multi', 'latest', index, mediaTypes.ociIndex)).statusCode, 201);
    const sigConfig = await pushBlob(t.app, 'multi', '{}');
    const sigLayer = await pushBlob(t.app, 'multi', 'signature');
    const referrer = imageManifest(sigConfig, [sigLayer], { subject: { mediaType: mediaTypes.ociManifest, digest: child.digest, size: child.size } });
    assert.equal((await putManifest(t.app, 'multi', digestOf(Buffer.from(referrer)), referrer)).statusCode, 201);
    await t.age();
    assert.deepEqual((await t.collect()).removed, []);
    assert.equal((await t.collect({ deleteUntagged: true })).removed.length, 0, 'the child of a tagged index and its referrer are kept');
    assert.deepEqual(await corruptBlobs(t.root), []);
  } finally {
    await t.close();
  }
});

test('--delete-untagged removes untagged manifests, an untagged index with its children, and referrers of removed subjects', async () => {
  const t = await startGcFixture();
  try {
    const kept = await pushImage(t.app, 'repo', 'kept');
    const old = await pushImage(t.app, 'repo', 'old');
    t.db.prepare("DELETE FROM tags WHERE repository = 'repo' AND tag = 'old'").run();
    const sig = await pushBlob(t.app, 'repo', 'sig of old');
    const referrer = imageManifest(sig, [sig], { subject: { mediaType: mediaTypes.ociManifest, digest: old.digest, size: old.size } });
    const referrerDigest = digestOf(Buffer.from(referrer));
    assert.equal((await putManifest(t.app, 'repo', referrerDigest, referrer)).statusCode, 201);
    await t.age();
    const before = await t.present();
    const dry = await t.collect({ deleteUntagged: true, dryRun: true });
    assert.deepEqual(await t.present(), before, 'a dry run removes nothing');
    const real = await t.collect({ deleteUntagged: true });
    assert.deepEqual(real.removed, dry.removed, 'the dry run lists exactly what the real run removes');
    assert.deepEqual(
      [...real.removed].sort(),
      [`repo@${old.digest}`, `repo@${referrerDigest}`, old.digest, old.config.digest, old.layer.digest, referrerDigest, sig.digest].sort(),
    );
    assert.deepEqual(await t.present(), [kept.digest, kept.config.digest, kept.layer.digest].sort());
    assert.equal((await t.app.inject({ url: `/v2/repo/manifests/${old.digest}` })).statusCode, 404);
  } finally {
    await t.close();
  }
});

test('v1 image layers, engine images (config, layers, pulled manifest) and container images are roots; ingests are untouched', async () => {
  const t = await startGcFixture();
  try {
    const v1Layer = await pushBlob(t.app, 'x', 'v1 layer');
    const v1 = new SqliteV1Store(t.db);
    const id = 'a'.repeat(64);
    await v1.putImageJson({ id, json: '{}', createdAt: new Date().toISOString() });
    assert.ok(await v1.setLayer(id, '{}', { digest: v1Layer.digest, size: v1Layer.size, diffId: v1Layer.digest, checksum: 'x', checksums: ['x'] }, true));
    const [config, layer, manifest, containerImage, loose] = await Promise.all(
      ['engine config', 'engine layer', 'engine manifest', 'image of a container', 'loose'].map((text) => pushBlob(t.app, 'x', text)),
    );
    await t.writeEngine([{ id: config.digest, layers: [layer.digest], manifest: manifest.digest }], { ['c'.repeat(64)]: containerImage.digest });
    const ingest = await t.blobs.ingest('in-flight');
    await ingest.write(Readable.from([Buffer.from('half an upload')]));
    await ingest.close();
    await t.age();
    assert.deepEqual((await t.collect()).removed, [loose.digest]);
    assert.deepEqual(await t.blobs.ingestStatus('in-flight'), { offset: 14 });
  } finally {
    await t.close();
  }
});

test('an images.json the collector does not understand stops the collection before anything is removed', async () => {
  const t = await startGcFixture();
  try {
    await pushBlob(t.app, 'x', 'loose');
    await t.writeEngine([]);
    const { writeFile } = await import('node:fs/promises');
    await writeFile(`${t.root}/engine/images/images.json`, '{"images": [{"id": 1}]}');
    await t.age();
    await assert.rejects(t.collect(), /not an image store/);
    assert.equal((await t.present()).length, 1);
  } finally {
    await t.close();
  }
});

test('a blob set aside by a collection killed mid-delete is put back by the next one', async () => {
  const t = await startGcFixture();
  try {
    const image = await pushImage(t.app, 'r', 'v1');
    const path = blobPath(t.root, image.layer.digest);
    await rename(path, `${path}.gc-00000000-0000-0000-0000-000000000000`);
    const result = await t.collect();
    assert.equal(result.recovered, 1);
    assert.ok((await t.present()).includes(image.layer.digest));
    assert.equal((await t.app.inject({ url: `/v2/r/blobs/${image.layer.digest}` })).statusCode, 200);
  } finally {
    await t.close();
  }
});

test('a blob touched while deleteUnused runs is kept or reported absent, never lost after a successful touch', async () => {
  const t = await startGcFixture();
  try {
    const past = new Date(Date.now() - 7200_000);
    for (let round = 0; round < 100; round++) {
      const blob = await pushBlob(t.app, 'race', `blob ${round}`);
      await utimes(blobPath(t.root, blob.digest), past, past);
      const cutoff = new Date(Date.now() - 1000);
      const [touched, deleted] = await Promise.all([t.blobs.touch(blob.digest), t.blobs.deleteUnused(blob.digest, cutoff)]);
      const present = (await t.blobs.stat(blob.digest)) !== undefined;
      if (touched) assert.ok(present, `round ${round}: touched, then deleted`);
      assert.equal(present, !deleted, `round ${round}`);
    }
  } finally {
    await t.close();
  }
});

test('pushes of manifests naming old unreferenced blobs while collections run lose nothing they reference', { timeout: 120_000 }, async (ctx) => {
  const t = await startGcFixture();
  try {
    const rounds = 6;
    let refused = 0;
    const perRound = 12;
    let accepted = 0;
    for (let round = 0; round < rounds; round++) {
      const blobs = [];
      for (let i = 0; i < perRound * 2; i++) blobs.push(await pushBlob(t.app, 'race', `round ${round} blob ${i} ${'x'.repeat(i * 100)}`));
      await t.age();
      const pushes = (async () => {
        const results = [];
        for (let i = 0; i < perRound; i++) {
          const body = imageManifest(blobs[2 * i], [blobs[2 * i + 1]]);
          const res = await putManifest(t.app, 'race', `r${round}-${i}`, body);
          results.push({ res, config: blobs[2 * i], layer: blobs[2 * i + 1] });
          await new Promise((resolve) => setImmediate(resolve));
        }
        return results;
      })();
      const [results] = await Promise.all([pushes, t.collect(), t.collect()]);
      for (const [i, { res, config, layer }] of results.entries()) {
        if (res.statusCode !== 201) {
          assert.equal(JSON.parse(res.body).errors[0].code, 'MANIFEST_BLOB_UNKNOWN', res.body);
          refused++;
          continue;
        }
        accepted++;
        assert.equal((await t.app.inject({ url: `/v2/race/manifests/r${round}-${i}` })).statusCode, 200);
        for (const digest of [config.digest, layer.digest]) {
          assert.equal((await t.app.inject({ method: 'HEAD', url: `/v2/race/blobs/${digest}` })).statusCode, 200, `round ${round}: ${digest} lost`);
        }
      }
    }
    await t.age();
    await t.collect();
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < perRound; i++) {
        const res = await t.app.inject({ url: `/v2/race/manifests/r${round}-${i}` });
        if (res.statusCode !== 200) continue;
        const manifest = JSON.parse(res.body) as { config: { digest: string }; layers: { digest: string }[] };
        for (const digest of [manifest.config.digest, ...manifest.layers.map((l) => l.digest)]) {
          assert.equal((await t.app.inject({ method: 'HEAD', url: `/v2/race/blobs/${digest}` })).statusCode, 200);
        }
      }
    }
    ctx.diagnostic(`${accepted} pushes accepted, ${refused} refused because a collection had removed their blobs first`);
    assert.ok(accepted > 0, 'some pushes went through');
    assert.deepEqual(await corruptBlobs(t.root), []);
  } finally {
    await t.close();
  }
});

test('release frees the candidates no root names and leaves the rest; what was used within the grace period is answered as recent', async () => {
  const t = await startGcFixture();
  try {
    const image = await pushImage(t.app, 'team/app', 'v1');
    const v1Layer = await pushBlob(t.app, 'x', 'v1 layer');
    const id = 'b'.repeat(64);
    const v1 = new SqliteV1Store(t.db);
    await v1.putImageJson({ id, json: '{}', createdAt: new Date().toISOString() });
    assert.ok(await v1.setLayer(id, '{}', { digest: v1Layer.digest, size: v1Layer.size, diffId: v1Layer.digest, checksum: 'x', checksums: ['x'] }, true));
    const [engineConfig, shared, gone, other] = await Promise.all(['engine config', 'shared layer', 'deleted layer', 'not a candidate'].map((text) => pushBlob(t.app, 'x', text)));
    await t.writeEngine([{ id: engineConfig.digest, layers: [shared.digest] }]);
    await t.age();
    const fresh = await pushBlob(t.app, 'x', 'used just now');
    const candidates = [image.layer.digest, image.config.digest, v1Layer.digest, engineConfig.digest, shared.digest, gone.digest, fresh.digest, `sha256:${'0'.repeat(64)}`];
    const removed: string[] = [];
    const result = await t.collector.release(candidates, { graceSeconds: 3600, onBlob: (b) => removed.push(b.digest) });
    assert.deepEqual(removed, [gone.digest]);
    assert.deepEqual(result, { blobs: 1, bytes: gone.size, recent: [fresh.digest] });
    assert.ok((await t.present()).includes(other.digest), 'a blob that was no candidate stays');
    assert.deepEqual((await t.collector.release([fresh.digest], { graceSeconds: 0 })).blobs, 1, 'past its grace period it goes');
  } finally {
    await t.close();
  }
});

test('a lease of a live process is a root; a lease of a dead process, or one dropped, is not', async () => {
  const t = await startGcFixture();
  try {
    const [leased, stale] = await Promise.all(['leased layer', 'stale lease'].map((text) => pushBlob(t.app, 'x', text)));
    await mkdir(join(t.root, 'engine', 'leases'), { recursive: true });
    await writeFile(join(t.root, 'engine', 'leases', 'a.json'), JSON.stringify({ pid: process.pid, digests: [leased.digest] }));
    // A pid past the kernel's pid_max names no process.
    await writeFile(join(t.root, 'engine', 'leases', 'b.json'), JSON.stringify({ pid: 2 ** 22 + 1, digests: [stale.digest] }));
    await writeFile(join(t.root, 'engine', 'leases', 'c.json.tmp'), 'half written');
    await t.age();
    assert.deepEqual((await t.collect()).removed, [stale.digest]);
    await unlink(join(t.root, 'engine', 'leases', 'a.json'));
    assert.deepEqual((await t.collect()).removed, [leased.digest]);
  } finally {
    await t.close();
  }
});

test('with cacheListings a second mark reads no manifest body it read before, and a removed manifest takes its listing along', async () => {
  const t = await startGcFixture();
  try {
    const image = await pushImage(t.app, 'cached', 'v1');
    const reads: string[] = [];
    const blobs = new Proxy(t.blobs, {
      get: (target, key) => {
        if (key === 'read') return (digest: string) => (reads.push(digest), target.read(digest));
        const value = Reflect.get(target, key) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const collector = new GarbageCollector({ blobs, index: new SqliteGcIndex(t.db), engine: new EngineRoots(t.root), logger: createLogger({ level: 'silent' }), cacheListings: true });
    await t.age();
    assert.equal((await collector.release([image.layer.digest], { graceSeconds: 0 })).blobs, 0);
    assert.equal((await collector.release([image.layer.digest], { graceSeconds: 0 })).blobs, 0);
    assert.deepEqual(reads, [image.digest], 'the body was read once');
    assert.equal((await t.app.inject({ method: 'DELETE', url: `/v2/cached/manifests/${image.digest}` })).statusCode, 202);
    assert.equal((await collector.release([image.layer.digest, image.config.digest], { graceSeconds: 0 })).blobs, 2);
  } finally {
    await t.close();
  }
});
