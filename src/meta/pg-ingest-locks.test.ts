import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { isFault } from '../base/fault.ts';
import { startPostgres, type Postgres } from '../../test/support/postgres.ts';
import { DriverBlobStore } from '../store/driver-blob-store.ts';
import { FsDriver } from '../store/fs-driver.ts';
import { PgAdvisoryLocks } from './pg-advisory-locks.ts';
import { PgIngestLocks } from './pg-ingest-locks.ts';
import { openPgPool, type PgPool } from './pg-pool.ts';

let postgres: Postgres;
let root: string;
const pools: PgPool[] = [];
const locks: PgAdvisoryLocks[] = [];

before(async () => {
  postgres = await startPostgres();
  root = mkdtempSync(join(tmpdir(), 'wharf-pg-ingest-'));
});

after(async () => {
  await Promise.all(locks.map((l) => l.close()));
  await Promise.all(pools.map((p) => p.close()));
  await postgres.close();
  rmSync(root, { recursive: true, force: true });
});

/** A replica's blob store: its own pool and lock connection, the shared root. */
function replica(): DriverBlobStore {
  const pool = openPgPool(postgres.url);
  const advisory = new PgAdvisoryLocks(pool);
  pools.push(pool);
  locks.push(advisory);
  return new DriverBlobStore({ driver: new FsDriver({ root }), locks: new PgIngestLocks(advisory) });
}

test('an upload open on one replica is refused on the other, then continued there and committed', async () => {
  const a = replica();
  const b = replica();
  const writer = await a.ingest('upload-1');
  await writer.write(Readable.from([Buffer.from('hello ')]));
  await assert.rejects(b.ingest('upload-1'), (err) => isFault(err, 'conflict'));
  await writer.close();
  const resumed = await b.ingest('upload-1');
  assert.equal(resumed.offset, 6);
  await resumed.write(Readable.from([Buffer.from('world')]));
  const digest = `sha256:${createHash('sha256').update('hello world').digest('hex')}`;
  assert.deepEqual(await resumed.commit({ digest }), { digest, size: 11 });
  assert.deepEqual(await a.stat(digest), { digest, size: 11 });
});

test('the lock of a commit that failed verification is given back', async () => {
  const a = replica();
  const b = replica();
  const writer = await a.ingest('upload-2');
  await writer.write(Readable.from([Buffer.from('x')]));
  await assert.rejects(writer.commit({ digest: `sha256:${'0'.repeat(64)}` }));
  const again = await b.ingest('upload-2');
  assert.equal(again.offset, 0);
  await again.cancel();
});
