import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, test } from 'node:test';
import { loadConfig } from '../../base/config.ts';
import { createLogger } from '../../base/log.ts';
import { type OpenedMeta, sqliteMeta } from '../../main/open-meta.ts';
import { openDatabase } from '../../meta/sqlite-database.ts';
import { digestOf } from '../../oci/digest.ts';
import { mediaTypes } from '../../oci/media-types.ts';
import { writeFileSync } from 'node:fs';
import { pino } from 'pino';
import type { MirrorStore } from '../../meta/mirror-store.ts';
import { join } from 'node:path';
import { run } from '../../../test/support/run.ts';
import { withTempDir } from '../../../test/support/temp.ts';
import { wharfBin } from '../../../test/support/wharf.ts';
import { DriverBlobStore } from '../../store/driver-blob-store.ts';
import { FsDriver } from '../../store/fs-driver.ts';
import { MemoryDriver } from '../../store/memory-driver.ts';
import { GarbageCollector } from '../gc/garbage-collector.ts';
import { RegistryService } from '../registry-service.ts';
import { cacheExpiryCutoff, expireCache, scheduledCacheExpiry } from './expire-cache.ts';

const logger = createLogger({ level: 'silent' });
const noMirror: MirrorStore = { tagCheckedAt: async () => undefined, markTagChecked: async () => {}, markCached: async () => {}, markUsed: async () => {}, unusedSince: async () => [], forget: async () => {} };
const day = 86_400_000;
// The cache's clock: what putCachedManifest records as each manifest's use.
let clock: Date;
let stores: OpenedMeta;
let blobs: DriverBlobStore;
let service: RegistryService;

/** The cache over `db` and `driver`: in memory for most tests, a real root for `wharf gc`. */
function openCache(db = openDatabase(':memory:'), driver: ConstructorParameters<typeof DriverBlobStore>[0]['driver'] = new MemoryDriver()) {
  clock = new Date();
  stores = sqliteMeta(db, 'sqlite');
  blobs = new DriverBlobStore({ driver });
  service = new RegistryService({ blobs, meta: stores.meta, config: loadConfig({ overrides: {} }), logger, mirror: stores.mirror, transaction: stores.transaction, now: () => clock });
}

beforeEach(() => openCache());

afterEach(async () => {
  await service.close();
  await stores.close();
});

const descriptor = (content: string, mediaType: string) => ({ mediaType, digest: digestOf(content), size: Buffer.byteLength(content) });

/** An image the cache fetched into `repository`: its blobs stored and linked as pull-through does, then its manifest. */
async function cacheImage(repository: string, tag: string | undefined, config: string, layers: string[], usedAt: Date) {
  clock = usedAt;
  for (const content of [config, ...layers]) {
    const writer = await blobs.ingest(`test-${digestOf(content).slice('sha256:'.length)}`);
    await writer.write(Readable.from([Buffer.from(content)]));
    await service.linkCachedBlob(repository, await writer.commit({ digest: digestOf(content) }));
  }
  const body = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: mediaTypes.ociManifest,
    config: descriptor(config, mediaTypes.ociConfig),
    layers: layers.map((l) => descriptor(l, mediaTypes.ociLayerGzip)),
  }));
  return service.putCachedManifest(repository, tag, { digest: digestOf(body), mediaType: mediaTypes.ociManifest, body });
}

async function present(): Promise<Set<string>> {
  const out = new Set<string>();
  for await (const info of blobs.list()) out.add(info.digest);
  return out;
}

test('content unused since the cutoff is freed by the next collection; what was used since, or pushed, stays', async () => {
  const now = new Date();
  const old = await cacheImage('hub/old', 'latest', 'config old', ['shared layer', 'old layer', 'kept layer'], new Date(now.getTime() - 30 * day));
  const keptThere = await cacheImage('hub/old', 'v2', 'config kept', ['kept layer'], new Date(now.getTime() - day));
  const recent = await cacheImage('hub/new', 'latest', 'config new', ['shared layer'], new Date(now.getTime() - day));
  // A pushed manifest as old as the expired one: it has no use row, expiry never sees it.
  const pushedLayer = await service.uploadMonolithic('team/app', digestOf('pushed layer'), Readable.from([Buffer.from('pushed layer')]));
  const pushedConfig = await service.uploadMonolithic('team/app', digestOf('pushed config'), Readable.from([Buffer.from('pushed config')]));
  const pushedBody = JSON.stringify({ schemaVersion: 2, mediaType: mediaTypes.ociManifest, config: { mediaType: mediaTypes.ociConfig, ...pushedConfig }, layers: [{ mediaType: mediaTypes.ociLayerGzip, ...pushedLayer }] });
  await service.putManifest('team/app', 'latest', Buffer.from(pushedBody), mediaTypes.ociManifest);

  // Blobs written moments ago: a grace of 0 at a clock a minute ahead lets a collection take them.
  const collector = new GarbageCollector({ blobs, index: stores.gc, engine: { read: async () => new Set<string>(), changed: async () => false }, logger, now: () => new Date(Date.now() + 60_000) });
  const freed: string[] = [];
  await collector.collect({ graceSeconds: 0, onBlob: (b) => freed.push(b.digest) });
  assert.equal(freed.length, 0, 'before the expiry every blob is named by a manifest');

  const cutoff = cacheExpiryCutoff(loadConfig({ overrides: { registry: { proxy: { remoteUrl: 'http://127.0.0.1:1', expiry: { unusedDays: 7 } } } } }).registry.proxy, now);
  assert.deepEqual(cutoff, new Date(now.getTime() - 7 * day));
  assert.deepEqual(await expireCache({ meta: stores.meta, mirror: stores.mirror, blobs, cutoff: cutoff!, logger, batchSize: 1 }), { manifests: 1, tags: 1, unlinked: 3 });

  assert.equal(await stores.meta.getManifest('hub/old', old.digest), undefined);
  assert.equal(await stores.meta.resolveTag('hub/old', 'latest'), undefined);
  for (const unlinked of ['config old', 'shared layer', 'old layer']) assert.equal(await stores.meta.getBlobLink('hub/old', digestOf(unlinked)), undefined, unlinked);
  assert.ok(await stores.meta.getBlobLink('hub/old', digestOf('kept layer')), 'a manifest kept in the repository names it');
  assert.ok(await stores.meta.getBlobLink('hub/new', digestOf('shared layer')), 'other repositories keep their links');

  await collector.collect({ graceSeconds: 0, onBlob: (b) => freed.push(b.digest) });
  assert.deepEqual(freed.sort(), [old.digest, digestOf('config old'), digestOf('old layer')].sort());
  const left = await present();
  for (const digest of [keptThere.digest, recent.digest, digestOf('kept layer'), digestOf('shared layer'), digestOf('config new'), pushedLayer.digest, pushedConfig.digest]) {
    assert.ok(left.has(digest), digest);
  }
  assert.equal((await service.getManifest('hub/new', 'latest')).digest, recent.digest);
  assert.equal((await service.getManifest('team/app', 'latest')).body.toString(), pushedBody);
});

test('a pull after the write keeps a manifest whose first fetch is old', async () => {
  const now = new Date();
  const image = await cacheImage('hub/app', 'latest', 'config', ['layer'], new Date(now.getTime() - 30 * day));
  await stores.mirror.markUsed('hub/app', image.digest, new Date(now.getTime() - day));
  assert.deepEqual(await expireCache({ meta: stores.meta, mirror: stores.mirror, blobs, cutoff: new Date(now.getTime() - 7 * day), logger }), { manifests: 0, tags: 0, unlinked: 0 });
  assert.ok(await stores.meta.getManifest('hub/app', image.digest));
});

test('nothing expires without an upstream or with unusedDays 0', () => {
  const now = new Date();
  const proxy = (extra: object) => loadConfig({ overrides: { registry: { proxy: extra } } }).registry.proxy;
  assert.equal(cacheExpiryCutoff(proxy({}), now), undefined);
  assert.equal(cacheExpiryCutoff(proxy({ remoteUrl: 'http://127.0.0.1:1', expiry: { unusedDays: 0 } }), now), undefined);
  assert.deepEqual(cacheExpiryCutoff(proxy({ upstreams: [{ prefix: 'hub/', url: 'http://127.0.0.1:1' }] }), now), new Date(now.getTime() - 7 * day));
});

test('wharf gc expires the cache first when registry.proxy has an upstream, and frees what it dropped', async () => {
  await withTempDir('wharf-expire-gc-', async (root) => {
    await service.close();
    await stores.close();
    openCache(openDatabase(join(root, 'meta.db')), new FsDriver({ root }));
    const now = new Date();
    const old = await cacheImage('hub/old', 'latest', 'config old', ['old layer'], new Date(now.getTime() - 30 * day));
    const recent = await cacheImage('hub/new', 'latest', 'config new', ['new layer'], now);
    await service.close();
    await stores.close();
    const config = join(root, 'wharf.yaml');
    writeFileSync(config, JSON.stringify({ registry: { proxy: { remoteUrl: 'http://127.0.0.1:9', expiry: { unusedDays: 7 } } } }));
    const result = await run(wharfBin, ['gc', '--root', root, '--config', config, '--grace', '0'], { timeoutMs: 120_000 });
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trim().split('\n');
    assert.match(lines[0], /^expired 1 cached manifests unused since \S+, 1 tags; unlinked 2 blobs$/);
    const freed = lines.filter((l) => l.startsWith('blob ')).map((l) => l.split(' ')[1]).sort();
    assert.deepEqual(freed, [old.digest, digestOf('config old'), digestOf('old layer')].sort());
    openCache(openDatabase(join(root, 'meta.db')), new FsDriver({ root }));
    assert.equal((await service.getManifest('hub/new', 'latest')).digest, recent.digest);
    assert.equal(await stores.meta.getManifest('hub/old', old.digest), undefined);
    const dry = await run(wharfBin, ['gc', '--root', root, '--config', config, '--dry-run'], { timeoutMs: 120_000 });
    assert.match(dry.stdout, /^cache expiry \(unused since \S+\) is not run in a dry run$/m);
  });
});

test('the scheduled expiry runs at each call with a fresh cut-off, and logs a failure instead of throwing', async () => {
  const proxy = loadConfig({ overrides: { registry: { proxy: { remoteUrl: 'http://127.0.0.1:9', expiry: { unusedDays: 7 } } } } }).registry.proxy;
  assert.equal(scheduledCacheExpiry(loadConfig({ overrides: {} }).registry.proxy, { meta: stores.meta, mirror: stores.mirror, blobs, logger }), undefined);
  let now = new Date();
  const image = await cacheImage('hub/app', 'latest', 'config', ['layer'], now);
  const task = scheduledCacheExpiry(proxy, { meta: stores.meta, mirror: stores.mirror, blobs, logger, now: () => now });
  await task?.();
  assert.ok(await stores.meta.getManifest('hub/app', image.digest), 'used just now');
  now = new Date(now.getTime() + 8 * day);
  await task?.();
  assert.equal(await stores.meta.getManifest('hub/app', image.digest), undefined, 'unused for 8 days');
  const lines: string[] = [];
  const sink = { write: (line: string) => void lines.push(line) };
  const failing: MirrorStore = { ...noMirror, unusedSince: async () => { throw new Error('database gone'); } };
  await scheduledCacheExpiry(proxy, { meta: stores.meta, mirror: failing, blobs, logger: pino({ level: 'warn' }, sink), now: () => now })?.();
  assert.equal(lines.length, 1);
  assert.match(lines[0], /"message":"database gone".*"msg":"mirror: cache expiry failed"/);
});
