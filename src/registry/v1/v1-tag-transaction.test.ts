import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { type Postgres, startPostgres } from '../../../test/support/postgres.ts';
import { loadConfig } from '../../base/config.ts';
import { Fault } from '../../base/fault.ts';
import { createLogger } from '../../base/log.ts';
import type { MetaTransaction } from '../../meta/meta-transaction.ts';
import type { MetadataStore } from '../../meta/metadata-store.ts';
import { PgMetadataStore } from '../../meta/pg-metadata-store.ts';
import { migratePostgres } from '../../meta/pg-migrate.ts';
import { openPgPool } from '../../meta/pg-pool.ts';
import { PgV1Store } from '../../meta/pg-v1-store.ts';
import { openDatabase, runAtomically } from '../../meta/sqlite-database.ts';
import { SqliteMetadataStore } from '../../meta/sqlite-metadata-store.ts';
import { SqliteV1Store } from '../../meta/sqlite-v1-store.ts';
import type { V1Store } from '../../meta/v1-store.ts';
import { DriverBlobStore } from '../../store/driver-blob-store.ts';
import { MemoryDriver } from '../../store/memory-driver.ts';
import { RegistryService } from '../registry-service.ts';
import { V1Images } from './v1-images.ts';
import { V1Repositories } from './v1-repositories.ts';
import { v1Image } from './test-v1.ts';

interface Backend {
  meta: MetadataStore;
  v1: V1Store;
  transaction: MetaTransaction;
  close(): Promise<void>;
}

/** The v1 store with recordBridge failing while `failing.on`: the second write of a v1 tag PUT. */
function failingBridge(v1: V1Store, failing: { on: boolean }): V1Store {
  return new Proxy(v1, {
    get(target, name) {
      const value = Reflect.get(target, name, target) as unknown;
      if (name === 'recordBridge' && failing.on) return async () => { throw new Fault('unavailable', 'bridge write failed (test)'); };
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** A v1 tag write whose bridge write fails leaves no manifest or tag row; once it succeeds, both are there. */
function describeTagTransaction(name: string, open: () => Promise<Backend>): void {
  describe(`v1 tag write is one transaction (${name})`, () => {
    test('a failed bridge write rolls back the manifest and the tag', async (t) => {
      const backend = await open();
      t.after(() => backend.close());
      const failing = { on: true };
      const v1 = failingBridge(backend.v1, failing);
      const blobs = new DriverBlobStore({ driver: new MemoryDriver() });
      const registry = new RegistryService({ blobs, meta: backend.meta, config: loadConfig({ overrides: { root: '/nonexistent' } }), logger: createLogger({ level: 'silent' }) });
      const images = new V1Images({ v1, blobs });
      const repositories = new V1Repositories({ v1, images, registry, meta: backend.meta, transaction: backend.transaction });
      const image = v1Image({ 'a.txt': 'tag transaction' });
      await images.putJson(image.id, image.json, 'tx/app');
      await images.putLayer(image.id, Readable.from([image.gz]), { declared: { payload: image.payload } });

      await assert.rejects(repositories.setTag('tx/app', 'v1', image.id, { usable: () => true }), /bridge write failed/);
      assert.equal(await backend.meta.resolveTag('tx/app', 'v1'), undefined, 'no tag row');
      assert.equal((await backend.meta.listTags('tx/app')).length, 0);
      assert.equal(await backend.v1.manifestForImage('tx/app', image.id), undefined, 'no bridge row');

      failing.on = false;
      await repositories.setTag('tx/app', 'v1', image.id, { usable: () => true });
      const digest = await backend.meta.resolveTag('tx/app', 'v1');
      assert.ok(digest, 'the tag is written once the bridge write succeeds');
      assert.ok(await backend.meta.getManifest('tx/app', digest));
      assert.equal(await backend.v1.manifestForImage('tx/app', image.id), digest);
    });

    test('a failed bridge write does not undo the manifest rows that were there before', async (t) => {
      const backend = await open();
      t.after(() => backend.close());
      const failing = { on: false };
      const v1 = failingBridge(backend.v1, failing);
      const blobs = new DriverBlobStore({ driver: new MemoryDriver() });
      const registry = new RegistryService({ blobs, meta: backend.meta, config: loadConfig({ overrides: { root: '/nonexistent' } }), logger: createLogger({ level: 'silent' }) });
      const images = new V1Images({ v1, blobs });
      const repositories = new V1Repositories({ v1, images, registry, meta: backend.meta, transaction: backend.transaction });
      const first = v1Image({ 'a.txt': 'first' });
      const second = v1Image({ 'b.txt': 'second' });
      for (const image of [first, second]) {
        await images.putJson(image.id, image.json, 'tx/app');
        await images.putLayer(image.id, Readable.from([image.gz]), { declared: { payload: image.payload } });
      }
      await repositories.setTag('tx/app', 'latest', first.id, { usable: () => true });
      const before = await backend.meta.resolveTag('tx/app', 'latest');
      failing.on = true;
      await assert.rejects(repositories.setTag('tx/app', 'latest', second.id, { usable: () => true }), /bridge write failed/);
      assert.equal(await backend.meta.resolveTag('tx/app', 'latest'), before, 'the tag still points where it did');
      assert.equal(await backend.v1.manifestForImage('tx/app', second.id), undefined);
    });
  });
}

describeTagTransaction('SQLite', async () => {
  const db = openDatabase(':memory:');
  return {
    meta: new SqliteMetadataStore(db),
    v1: new SqliteV1Store(db),
    transaction: (work) => runAtomically(db, work),
    close: async () => db.close(),
  };
});

let server: Postgres | undefined;
let databases = 0;
before(async () => {
  server = await startPostgres();
});
after(() => server?.close());

describeTagTransaction('PostgreSQL', async () => {
  assert.ok(server);
  const pool = openPgPool(await server.createDatabase(`v1tag_${++databases}`));
  await migratePostgres(pool);
  return { meta: new PgMetadataStore(pool), v1: new PgV1Store(pool), transaction: pool.transaction, close: () => pool.close() };
});
