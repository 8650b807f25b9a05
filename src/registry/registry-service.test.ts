import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { loadConfig } from '../base/config.ts';
import { createLogger } from '../base/log.ts';
import { openDatabase } from '../meta/sqlite-database.ts';
import { SqliteMetadataStore } from '../meta/sqlite-metadata-store.ts';
import { digestOf } from '../oci/digest.ts';
import { emptyJsonDigest, mediaTypes } from '../oci/media-types.ts';
import { DriverBlobStore } from '../store/driver-blob-store.ts';
import { FsDriver } from '../store/fs-driver.ts';
import { MemoryDriver } from '../store/memory-driver.ts';
import { RegistryService } from './registry-service.ts';
import { faultCode } from '../../test/support/fault-code.ts';

let root: string;
let db: DatabaseSync;
let blobs: DriverBlobStore;
let meta: SqliteMetadataStore;
let service: RegistryService;
let ids: number;

function makeService(maxManifestBytes = 4096): RegistryService {
  return new RegistryService({
    blobs,
    meta,
    config: loadConfig({ overrides: { root, registry: { maxManifestBytes } } }),
    logger: createLogger({ level: 'silent' }),
    newId: () => `id${ids++}`,
  });
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'wharf-service-'));
  db = openDatabase(join(root, 'meta.db'));
  blobs = new DriverBlobStore({ driver: new MemoryDriver() });
  meta = new SqliteMetadataStore(db);
  ids = 0;
  service = makeService();
});

afterEach(async () => {
  await service.close();
  db.close();
  await rm(root, { recursive: true, force: true });
});

function body(s: string): Readable {
  return Readable.from([Buffer.from(s)]);
}

async function blob(repository: string, content: string) {
  return service.uploadMonolithic(repository, digestOf(content), body(content));
}

function image(config: { digest: string; size: number }, layers: { digest: string; size: number }[], extra: object = {}): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: mediaTypes.ociManifest,
      config: { mediaType: mediaTypes.ociConfig, ...config },
      layers: layers.map((l) => ({ mediaType: mediaTypes.ociLayerGzip, ...l })),
      ...extra,
    }),
  );
}

describe('uploads', () => {
  test('a session takes chunks in order, reports its offset and commits a verified, linked blob', async () => {
    const { id } = await service.startUpload('team/app');
    assert.deepEqual(await service.uploadStatus('team/app', id), { offset: 0 });
    assert.deepEqual(await service.appendUpload('team/app', id, body('hello '), { range: { start: 0, end: 5 } }), { offset: 6 });
    assert.deepEqual(await service.appendUpload('team/app', id, body('world')), { offset: 11 });
    const info = await service.finishUpload('team/app', id, digestOf('hello world'));
    assert.deepEqual(info, { digest: digestOf('hello world'), size: 11 });
    assert.deepEqual(await service.statBlob('team/app', info.digest), info);
    assert.equal(await meta.getUpload(id), undefined);
    assert.equal(await faultCode(service.uploadStatus('team/app', id)), 'BLOB_UPLOAD_UNKNOWN');
  });

  test('a chunk off the current offset is RANGE_INVALID and writes nothing', async () => {
    const { id } = await service.startUpload('team/app');
    await service.appendUpload('team/app', id, body('abc'));
    assert.equal(await faultCode(service.appendUpload('team/app', id, body('xyz'), { range: { start: 5, end: 7 } })), 'RANGE_INVALID');
    assert.equal(await faultCode(service.appendUpload('team/app', id, body('xyz'), { range: { start: 0, end: 2 } })), 'RANGE_INVALID');
    assert.deepEqual(await service.uploadStatus('team/app', id), { offset: 3 });
  });

  test('a chunk longer than its range is cut at the range and refused', async () => {
    const { id } = await service.startUpload('team/app');
    const err = await faultCode(service.appendUpload('team/app', id, body('abcdef'), { range: { start: 0, end: 2 } }));
    assert.equal(err, 'SIZE_INVALID');
    assert.deepEqual(await service.uploadStatus('team/app', id), { offset: 3 });
  });

  test('two requests on one upload at once: the second is refused, the first completes', async () => {
    const { id } = await service.startUpload('team/app');
    let release!: () => void;
    const slow = Readable.from(
      (async function* () {
        yield Buffer.from('first');
        await new Promise<void>((resolve) => {
          release = resolve;
        });
      })(),
    );
    const first = service.appendUpload('team/app', id, slow);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(await faultCode(service.appendUpload('team/app', id, body('second'))), 'BLOB_UPLOAD_INVALID');
    assert.equal(await faultCode(service.finishUpload('team/app', id, digestOf('first'))), 'BLOB_UPLOAD_INVALID');
    release();
    assert.deepEqual(await first, { offset: 5 });
    assert.equal((await service.finishUpload('team/app', id, digestOf('first'))).size, 5);
  });

  test('a wrong digest at finish drops the session and its bytes', async () => {
    const { id } = await service.startUpload('team/app');
    await service.appendUpload('team/app', id, body('some bytes'));
    assert.equal(await faultCode(service.finishUpload('team/app', id, digestOf('other'))), 'DIGEST_INVALID');
    assert.equal(await meta.getUpload(id), undefined);
    assert.equal(await blobs.ingestStatus(id), undefined);
    assert.equal(await blobs.stat(digestOf('some bytes')), undefined);
  });

  test('an upload resumes on a new service (a restart) with the bytes already received', async () => {
    const { id } = await service.startUpload('team/app');
    await service.appendUpload('team/app', id, body('before '));
    await service.close();
    service = makeService();
    assert.deepEqual(await service.uploadStatus('team/app', id), { offset: 7 });
    await service.appendUpload('team/app', id, body('after'), { range: { start: 7, end: 11 } });
    assert.equal((await service.finishUpload('team/app', id, digestOf('before after'))).size, 12);
  });

  test('sessions belong to their repository', async () => {
    const { id } = await service.startUpload('team/app');
    assert.equal(await faultCode(service.appendUpload('team/other', id, body('x'))), 'BLOB_UPLOAD_UNKNOWN');
    assert.equal(await faultCode(service.cancelUpload('team/other', id)), 'BLOB_UPLOAD_UNKNOWN');
    assert.equal(await faultCode(service.uploadStatus('team/app', '../../etc')), 'BLOB_UPLOAD_UNKNOWN');
  });

  test('cancel drops the bytes and the session, with or without an open writer', async () => {
    const open = await service.startUpload('team/app');
    await service.appendUpload('team/app', open.id, body('bytes'));
    await service.cancelUpload('team/app', open.id);
    assert.equal(await blobs.ingestStatus(open.id), undefined);
    assert.equal(await meta.getUpload(open.id), undefined);
    const idle = await service.startUpload('team/app');
    await service.cancelUpload('team/app', idle.id);
    assert.equal(await meta.getUpload(idle.id), undefined);
  });

  test('a monolithic upload with a wrong digest leaves no ingest and no link', async () => {
    assert.equal(await faultCode(service.uploadMonolithic('team/app', digestOf('x'), body('y'))), 'DIGEST_INVALID');
    assert.equal(await blobs.ingestStatus('mono-id0'), undefined);
    assert.equal(await meta.getBlobLink('team/app', digestOf('y')), undefined);
    assert.equal(await meta.getRepository('team/app'), undefined, 'no repository row either');
  });

  test('names and digests are validated before anything is written', async () => {
    assert.equal(await faultCode(service.startUpload('Team/App')), 'NAME_INVALID');
    assert.equal(await faultCode(service.uploadMonolithic('team/app', 'sha256:nope', body('x'))), 'DIGEST_INVALID');
    assert.equal(await faultCode(service.statBlob('a/../b', digestOf('x'))), 'NAME_INVALID');
    assert.deepEqual(await meta.listRepositories(), []);
  });
});

describe('mounts', () => {
  test('from a repository that links the blob, from anywhere without from, and not from nowhere', async () => {
    const info = await blob('source/repo', 'shared');
    assert.deepEqual(await service.mountBlob('target/one', info.digest, 'source/repo'), info);
    assert.deepEqual(await service.mountBlob('target/two', info.digest), info, 'OCI 1.1: no from, the registry holds it');
    assert.equal(await service.mountBlob('target/three', info.digest, 'empty/repo'), undefined);
    assert.equal(await service.mountBlob('target/four', digestOf('nowhere')), undefined);
    assert.deepEqual(await service.statBlob('target/one', info.digest), info);
    assert.equal(await faultCode(service.statBlob('target/three', info.digest)), 'BLOB_UNKNOWN');
  });
});

describe('manifests', () => {
  test('a manifest is stored as a blob with its rows, by tag, and read back from the cache or the store', async () => {
    const config = await blob('team/app', '{"os":"linux"}');
    const layer = await blob('team/app', 'layer');
    const bytes = image(config, [layer]);
    const result = await service.putManifest('team/app', 'v1', bytes, mediaTypes.ociManifest);
    assert.deepEqual(result, { digest: digestOf(bytes), mediaType: mediaTypes.ociManifest, subject: undefined });
    assert.equal((await blobs.stat(result.digest))?.size, bytes.length);
    const got = await service.getManifest('team/app', 'v1');
    assert.deepEqual([got.digest, got.mediaType, got.size, got.body.equals(bytes)], [result.digest, mediaTypes.ociManifest, bytes.length, true]);
    const fresh = makeService();
    assert.ok((await fresh.manifestBody(result.digest)).equals(bytes), 'read from the store when not cached');
    assert.deepEqual(await service.listTags('team/app', {}), ['v1']);
  });

  test('concurrent misses of one manifest body share one read of the store', async () => {
    const config = await blob('team/app', '{"os":"linux"}');
    const bytes = image(config, []);
    const { digest } = await service.putManifest('team/app', 'v1', bytes, mediaTypes.ociManifest);
    const read = blobs.read.bind(blobs);
    let reads = 0;
    blobs.read = (...args: Parameters<typeof blobs.read>) => (reads++, read(...args));
    const fresh = makeService();
    const bodies = await Promise.all(Array.from({ length: 50 }, () => fresh.manifestBody(digest)));
    assert.equal(reads, 1);
    assert.ok(bodies.every((b) => b.equals(bytes)));
    await fresh.manifestBody(digest);
    assert.equal(reads, 1, 'then from the cache');
    await fresh.close();
  });

  test('checks run before any write: size, reference, digest, schema, references', async () => {
    const small = makeService(64);
    const config = await blob('team/app', '{}');
    const bytes = image(config, []);
    assert.equal(await faultCode(small.putManifest('team/app', 'v1', bytes)), 'SIZE_INVALID');
    assert.equal(await faultCode(service.putManifest('team/app', '-bad', bytes)), 'TAG_INVALID');
    assert.equal(await faultCode(service.putManifest('team/app', digestOf('other'), bytes)), 'DIGEST_INVALID');
    assert.equal(await faultCode(service.putManifest('team/app', 'v1', Buffer.from('{'))), 'MANIFEST_INVALID');
    assert.equal(await faultCode(service.putManifest('team/app', 'v1', image(config, [{ digest: digestOf('gone'), size: 4 }]))), 'MANIFEST_BLOB_UNKNOWN');
    assert.equal(await faultCode(service.putManifest('other/app', 'v1', bytes)), 'MANIFEST_BLOB_UNKNOWN', 'blobs must be linked in the same repository');
    assert.equal(await blobs.stat(digestOf(bytes)), undefined);
    assert.equal(await meta.resolveTag('team/app', 'v1'), undefined);
    await small.close();
  });

  test('an index needs its children in the repository; by digest it must match its body', async () => {
    const config = await blob('team/app', '{}');
    const child = image(config, []);
    const childDigest = (await service.putManifest('team/app', digestOf(child), child)).digest;
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: mediaTypes.ociIndex, manifests: [{ mediaType: mediaTypes.ociManifest, digest: childDigest, size: child.length }] }));
    assert.equal(await faultCode(service.putManifest('team/else', 'v1', index)), 'MANIFEST_BLOB_UNKNOWN');
    assert.equal((await service.putManifest('team/app', 'multi', index)).mediaType, mediaTypes.ociIndex);
  });

  test('deleting by tag removes the tag only; by digest the manifest and its tags', async () => {
    const config = await blob('team/app', '{}');
    const bytes = image(config, []);
    const { digest } = await service.putManifest('team/app', 'a', bytes);
    await service.putManifest('team/app', 'b', bytes);
    await service.deleteManifest('team/app', 'a');
    assert.deepEqual(await service.listTags('team/app', {}), ['b']);
    assert.equal((await service.resolveManifest('team/app', digest)).digest, digest);
    assert.equal((await service.resolveManifest('team/app', 'b')).digest, digest);
    assert.equal(await faultCode(service.resolveManifest('team/app', 'a')), 'MANIFEST_UNKNOWN');
    await service.deleteManifest('team/app', digest);
    assert.deepEqual(await service.listTags('team/app', {}), []);
    assert.equal(await faultCode(service.resolveManifest('team/app', digest)), 'MANIFEST_UNKNOWN');
    assert.equal(await faultCode(service.resolveManifest('team/app', 'b')), 'MANIFEST_UNKNOWN');
    assert.equal(await faultCode(service.deleteManifest('team/app', 'b')), 'MANIFEST_UNKNOWN');
  });

  test('referrers are an OCI index of the manifests whose subject is the digest', async () => {
    const config = await blob('team/app', '{}');
    const subjectBytes = image(config, []);
    const subject = await service.putManifest('team/app', 'v1', subjectBytes);
    await blob('team/app', '{}');
    assert.equal(digestOf('{}'), emptyJsonDigest);
    const sbom = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: mediaTypes.ociManifest,
        artifactType: 'application/spdx+json',
        config: { mediaType: mediaTypes.ociEmpty, digest: emptyJsonDigest, size: 2 },
        layers: [],
        subject: { mediaType: mediaTypes.ociManifest, digest: subject.digest, size: subjectBytes.length },
      }),
    );
    const put = await service.putManifest('team/app', digestOf(sbom), sbom);
    assert.equal(put.subject, subject.digest);
    const index = await service.referrers('team/app', subject.digest);
    assert.deepEqual(index, {
      schemaVersion: 2,
      mediaType: mediaTypes.ociIndex,
      manifests: [{ mediaType: mediaTypes.ociManifest, digest: put.digest, size: sbom.length, artifactType: 'application/spdx+json' }],
    });
    assert.deepEqual((await service.referrers('team/app', subject.digest, 'application/other')).manifests, []);
    assert.equal(await faultCode(service.referrers('team/app', 'nope')), 'DIGEST_INVALID');
  });
});

describe('blobs and listings', () => {
  test('deleting a blob unlinks it; the bytes stay for other repositories and the engine', async () => {
    const info = await blob('team/app', 'shared bytes');
    await service.mountBlob('team/other', info.digest, 'team/app');
    await service.deleteBlob('team/app', info.digest);
    assert.equal(await faultCode(service.statBlob('team/app', info.digest)), 'BLOB_UNKNOWN');
    assert.deepEqual(await service.statBlob('team/other', info.digest), info);
    await service.deleteBlob('team/other', info.digest);
    assert.deepEqual(await blobs.stat(info.digest), info, 'only garbage collection removes content');
  });

  test('tags of an unknown repository are NAME_UNKNOWN; the catalog pages in order', async () => {
    assert.equal(await faultCode(service.listTags('never/pushed', {})), 'NAME_UNKNOWN');
    for (const name of ['c/c', 'a/a', 'b/b']) await blob(name, name);
    assert.deepEqual(await service.listRepositories({ n: 2 }), ['a/a', 'b/b']);
    assert.deepEqual(await service.listRepositories({ last: 'b/b' }), ['c/c']);
  });
});

describe('upload purging', () => {
  test('an ingest directory a commit left empty (interrupted before deleting it) is purged on the filesystem', async () => {
    const data = join(root, 'data');
    const onDisk = new RegistryService({
      blobs: new DriverBlobStore({ driver: new FsDriver({ root: data }) }),
      meta,
      config: loadConfig({ overrides: { root } }),
      logger: createLogger({ level: 'silent' }),
    });
    try {
      await mkdir(join(data, 'ingest', 'half-committed'), { recursive: true });
      assert.deepEqual(await onDisk.purgeUploads(new Date(Date.now() + 60_000)), { sessions: 0, ingests: 1 });
      assert.deepEqual(await readdir(join(data, 'ingest')), []);
    } finally {
      await onDisk.close();
    }
  });

  test('sessions started before the cutoff and unnamed ingests last written before it are removed; the rest stays', async () => {
    // Sessions take their start from the service's clock, ingests their last write from the wall clock.
    let now = new Date(Date.now() - 10 * 24 * 3600 * 1000);
    const clocked = new RegistryService({
      blobs,
      meta,
      config: loadConfig({ overrides: { root } }),
      logger: createLogger({ level: 'silent' }),
      newId: () => `clocked${ids++}`,
      now: () => now,
    });
    try {
      const abandoned = await clocked.startUpload('purge/me');
      await clocked.appendUpload('purge/me', abandoned.id, body('half of a layer'));
      const orphan = await blobs.ingest('mono-orphan');
      await orphan.write(body('an interrupted monolithic upload'));
      await orphan.close();
      now = new Date(Date.now() + 3600 * 1000);
      const fresh = await clocked.startUpload('purge/me');
      await clocked.appendUpload('purge/me', fresh.id, body('still coming'));
      const purged = await clocked.purgeUploads(new Date(Date.now() - 7 * 24 * 3600 * 1000));
      assert.deepEqual(purged, { sessions: 1, ingests: 0 });
      assert.equal(await faultCode(clocked.uploadStatus('purge/me', abandoned.id)), 'BLOB_UPLOAD_UNKNOWN');
      assert.equal(await blobs.ingestStatus(abandoned.id), undefined);
      assert.deepEqual(await clocked.uploadStatus('purge/me', fresh.id), { offset: 12 });
      // A cutoff just ahead of the wall clock: the orphan's last write is older, the fresh session's start is not.
      const later = await clocked.purgeUploads(new Date(Date.now() + 60_000));
      assert.deepEqual(later, { sessions: 0, ingests: 1 }, 'the orphan goes; the live session keeps its ingest');
      assert.equal(await blobs.ingestStatus('mono-orphan'), undefined);
      assert.deepEqual(await clocked.uploadStatus('purge/me', fresh.id), { offset: 12 });
    } finally {
      await clocked.close();
    }
  });
});
