import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openDatabase, runAtomically } from './sqlite-database.ts';
import { SqliteGcIndex } from './sqlite-gc-index.ts';
import { SqliteMetadataStore } from './sqlite-metadata-store.ts';
import { SqliteRetentionIndex } from './sqlite-retention-index.ts';
import { SqliteUserStore } from './sqlite-user-store.ts';
import { SqliteV1Store } from './sqlite-v1-store.ts';
import { describeStores } from './stores-conformance.ts';

function sqliteStores() {
  const db = openDatabase(':memory:');
  return {
    db,
    meta: new SqliteMetadataStore(db),
    users: new SqliteUserStore(db),
    v1: new SqliteV1Store(db),
    gc: new SqliteGcIndex(db),
    retention: new SqliteRetentionIndex(db),
    transaction: <T>(work: () => Promise<T>) => runAtomically(db, work),
    exec: async (sql: string) => db.exec(sql),
    cleanup: async () => db.close(),
  };
}

describeStores('SQLite', async () => sqliteStores());

test('a SQLite transaction whose work awaits I/O is rolled back and refused (others could have joined it)', async () => {
  const { db, meta, transaction, cleanup } = sqliteStores();
  try {
    await assert.rejects(
      transaction(async () => {
        await meta.ensureRepository('a');
        await new Promise((resolve) => setTimeout(resolve, 5));
      }),
      /awaited I\/O/,
    );
    assert.equal(db.isTransaction, false);
    assert.deepEqual(await meta.listRepositories(), []);
  } finally {
    await cleanup();
  }
});
