import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { isFault } from '../base/fault.ts';
import { createLogger } from '../base/log.ts';
import { DriverBlobStore } from '../store/driver-blob-store.ts';
import { MemoryDriver } from '../store/memory-driver.ts';
import { UploadWriters } from './upload-writers.ts';

function make(options: { maxOpen?: number; idleMs?: number; releaseAfterUse?: boolean } = {}) {
  const blobs = new DriverBlobStore({ driver: new MemoryDriver() });
  let now = 0;
  const writers = new UploadWriters({ blobs, logger: createLogger({ level: 'silent' }), now: () => now, ...options });
  return { blobs, writers, advance: (ms: number) => (now += ms) };
}

async function append(writers: UploadWriters, id: string, data: string): Promise<number> {
  return writers.use(id, (writer) => writer.write(Readable.from([Buffer.from(data)])));
}

test('a writer stays open between requests and reports its offset', async () => {
  const { writers } = make();
  assert.equal(writers.offset('a'), undefined);
  assert.equal(await append(writers, 'a', 'abc'), 3);
  assert.equal(writers.offset('a'), 3);
  assert.equal(await append(writers, 'a', 'de'), 5);
  await writers.close();
});

test('releaseAfterUse: the ingest is free between requests (another replica may continue it), bytes kept', async () => {
  const { blobs, writers } = make({ releaseAfterUse: true });
  assert.equal(await append(writers, 'a', 'abc'), 3);
  assert.equal(writers.offset('a'), undefined);
  const other = await blobs.ingest('a');
  assert.equal(other.offset, 3);
  await other.write(Readable.from([Buffer.from('de')]));
  await other.close();
  assert.equal(await append(writers, 'a', 'f'), 6);
  await writers.close();
});

test('a second request on a busy upload is refused with BLOB_UPLOAD_INVALID', async () => {
  const { writers } = make();
  let release!: () => void;
  const first = writers.use('a', () => new Promise<void>((resolve) => (release = resolve)));
  await assert.rejects(writers.use('a', async () => undefined), (err) => isFault(err, 'conflict') && err.code === 'BLOB_UPLOAD_INVALID');
  await assert.rejects(writers.cancel('a'), (err) => isFault(err, 'conflict'));
  // The first request's work starts once its ingest is open, a few turns of the event loop later.
  while (!release) await new Promise((resolve) => setImmediate(resolve));
  release();
  await first;
  await writers.use('a', async () => undefined);
  await writers.close();
});

test('done() forgets a writer that committed; cancel drops the bytes', async () => {
  const { writers, blobs } = make();
  await append(writers, 'a', 'abc');
  await writers.use('a', async (writer, done) => {
    await writer.cancel();
    done();
  });
  assert.equal(writers.offset('a'), undefined);
  await append(writers, 'b', 'xyz');
  assert.equal(await writers.cancel('b'), true);
  assert.equal(await blobs.ingestStatus('b'), undefined);
  assert.equal(await writers.cancel('b'), false);
});

test('idle writers are closed (bytes kept) and the least recently used goes beyond the bound', async () => {
  const { writers, blobs, advance } = make({ maxOpen: 2, idleMs: 1000 });
  await append(writers, 'a', 'aa');
  await append(writers, 'b', 'bbb');
  await append(writers, 'a', 'a');
  await append(writers, 'c', 'c');
  assert.equal(writers.offset('b'), undefined, 'b was the least recently used');
  assert.deepEqual(await blobs.ingestStatus('b'), { offset: 3 });
  assert.equal(writers.offset('a'), 3);
  advance(5000);
  await append(writers, 'd', 'd');
  assert.equal(writers.offset('a'), undefined, 'idle too long');
  assert.equal(writers.offset('c'), undefined);
  assert.equal(await append(writers, 'a', 'z'), 4, 'resumes where it stopped');
  await writers.close();
  assert.deepEqual(await blobs.ingestStatus('a'), { offset: 4 });
});

test('while the first request opens the ingest, the upload has no open offset and stays busy', async () => {
  const blobs = new DriverBlobStore({ driver: new MemoryDriver() });
  let opened!: () => void;
  const gate = new Promise<void>((resolve) => (opened = resolve));
  const slow = Object.assign(Object.create(blobs) as DriverBlobStore, {
    ingest: async (ref: string) => {
      await gate;
      return blobs.ingest(ref);
    },
  });
  const writers = new UploadWriters({ blobs: slow, logger: createLogger({ level: 'silent' }) });
  const first = append(writers, 'a', 'abc');
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(writers.offset('a'), undefined);
  await assert.rejects(writers.use('a', async () => undefined), (err) => isFault(err, 'conflict'));
  opened();
  assert.equal(await first, 3);
  assert.equal(writers.offset('a'), 3);
  await writers.close();
});
