import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, test } from 'node:test';
import { loadConfig } from '../../base/config.ts';
import { createLogger } from '../../base/log.ts';
import { type OpenedMeta, sqliteMeta } from '../../main/open-meta.ts';
import { openDatabase } from '../../meta/sqlite-database.ts';
import { digestOf } from '../../oci/digest.ts';
import { mediaTypes } from '../../oci/media-types.ts';
import type { BlobInfo } from '../../store/blob-store.ts';
import { DriverBlobStore } from '../../store/driver-blob-store.ts';
import { MemoryDriver } from '../../store/memory-driver.ts';
import { RegistryService } from '../registry-service.ts';
import { faultCode } from '../../../test/support/fault-code.ts';

// RegistryService.putCachedManifest and linkCachedBlob: what the pull-through cache (pull-through.ts) writes.

let stores: OpenedMeta;
let blobs: DriverBlobStore;
let service: RegistryService;
const now = new Date('2030-01-10T00:00:00.000Z');

beforeEach(() => {
  stores = sqliteMeta(openDatabase(':memory:'), 'sqlite :memory:');
  blobs = new DriverBlobStore({ driver: new MemoryDriver() });
  const config = loadConfig({ overrides: { registry: { immutableTags: [{ repository: '**', tag: '.*' }] } } });
  service = new RegistryService({ blobs, meta: stores.meta, config, logger: createLogger({ level: 'silent' }), mirror: stores.mirror, transaction: stores.transaction, now: () => now });
});

afterEach(async () => {
  await service.close();
  await stores.close();
});

const descriptor = (content: string, mediaType: string) => ({ mediaType, digest: digestOf(content), size: Buffer.byteLength(content) });

function cached(document: object) {
  const body = Buffer.from(JSON.stringify(document));
  return { digest: digestOf(body), mediaType: (document as { mediaType: string }).mediaType, body };
}

function image(layer: string) {
  return cached({ schemaVersion: 2, mediaType: mediaTypes.ociManifest, config: descriptor(`config of ${layer}`, mediaTypes.ociConfig), layers: [descriptor(layer, mediaTypes.ociLayerGzip)] });
}

async function store(content: string): Promise<BlobInfo> {
  const writer = await blobs.ingest(`test-${digestOf(content).slice('sha256:'.length)}`);
  await writer.write(Readable.from([Buffer.from(content)]));
  return writer.commit({ digest: digestOf(content) });
}

test('a cached manifest is stored before its blobs, over quota and immutable tags, with its use and tag check', async () => {
  await stores.meta.setQuota('hub', 1);
  const first = image('layer one');
  const record = await service.putCachedManifest('hub/app', 'latest', first);
  assert.equal(record.digest, first.digest);
  assert.equal(record.mediaType, mediaTypes.ociManifest);
  assert.equal(record.size, first.body.length);
  assert.equal(record.config, digestOf('config of layer one'));
  assert.deepEqual((await service.getManifest('hub/app', 'latest')).body, first.body);
  assert.equal(await stores.meta.getBlobLink('hub/app', digestOf('layer one')), undefined, 'blobs are linked as they are fetched');
  assert.deepEqual(await stores.mirror.tagCheckedAt('hub/app', 'latest'), now);
  assert.deepEqual(await stores.mirror.unusedSince(new Date(now.getTime() + 1), 10), [{ repository: 'hub/app', digest: first.digest }]);
  // The upstream moved the tag: a cache follows, whatever registry.immutableTags says about pushes.
  const second = image('layer two');
  await service.putCachedManifest('hub/app', 'latest', second);
  assert.equal(await stores.meta.resolveTag('hub/app', 'latest'), second.digest);
  assert.ok(await stores.meta.getManifest('hub/app', first.digest), 'the previous manifest stays until expiry or gc');
});

test('a cached index is stored before its children, which are recorded as its own', async () => {
  const amd64 = image('amd64 layer');
  const arm64 = image('arm64 layer');
  const index = cached({
    schemaVersion: 2,
    mediaType: mediaTypes.ociIndex,
    manifests: [amd64, arm64].map((m) => ({ mediaType: m.mediaType, digest: m.digest, size: m.body.length })),
  });
  await service.putCachedManifest('hub/multi', 'latest', index);
  await service.putCachedManifest('hub/multi', undefined, amd64);
  const children = (await stores.gc.children()).map((c) => c.child).sort();
  assert.deepEqual(children, [amd64.digest, arm64.digest].sort());
  assert.deepEqual(await stores.mirror.tagCheckedAt('hub/multi', amd64.digest), undefined);
  assert.equal((await service.resolveManifest('hub/multi', amd64.digest)).digest, amd64.digest);
});

test('bytes that do not hash to the digest, a bad tag or an oversized body are refused and nothing is stored', async () => {
  const good = image('layer');
  const bad = { ...good, digest: digestOf('something else') };
  assert.equal(await faultCode(service.putCachedManifest('hub/app', 'latest', bad)), 'DIGEST_INVALID');
  assert.equal(await faultCode(service.putCachedManifest('hub/app', '-bad', good)), 'TAG_INVALID');
  const huge = cached({ schemaVersion: 2, mediaType: mediaTypes.ociManifest, config: descriptor('c', mediaTypes.ociConfig), layers: [], annotations: { pad: 'x'.repeat(service.maxManifestBytes) } });
  assert.equal(await faultCode(service.putCachedManifest('hub/app', 'latest', huge)), 'SIZE_INVALID');
  for (const digest of [good.digest, bad.digest, huge.digest]) assert.equal(await blobs.stat(digest), undefined);
  assert.deepEqual(await stores.meta.listRepositories(), []);
});

test('a fetched blob is linked over quota; one not stored is BLOB_UNKNOWN', async () => {
  await stores.meta.setQuota('hub', 1);
  const info = await store('a layer of many bytes');
  await service.linkCachedBlob('hub/app', info);
  assert.deepEqual(await service.statBlob('hub/app', info.digest), info);
  assert.equal(await faultCode(service.linkCachedBlob('hub/app', { digest: digestOf('absent'), size: 6 })), 'BLOB_UNKNOWN');
  assert.equal(await stores.meta.getBlobLink('hub/app', digestOf('absent')), undefined);
});

test('without a mirror store the rows are written all the same', async () => {
  const plain = new RegistryService({ blobs, meta: stores.meta, config: loadConfig({ overrides: {} }), logger: createLogger({ level: 'silent' }) });
  const manifest = image('plain layer');
  await plain.putCachedManifest('hub/app', 'v1', manifest);
  assert.equal(await stores.meta.resolveTag('hub/app', 'v1'), manifest.digest);
  assert.deepEqual(await stores.mirror.unusedSince(new Date('2100-01-01'), 10), []);
  await plain.close();
});
