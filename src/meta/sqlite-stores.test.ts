import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sqliteMeta } from '../main/open-meta.ts';
import { openDatabase } from './sqlite-database.ts';
import { describeStores } from './stores-conformance.ts';

function sqliteStores() {
  const db = openDatabase(':memory:');
  const stores = sqliteMeta(db, 'sqlite :memory:');
  return { ...stores, db, exec: async (sql: string) => db.exec(sql), cleanup: stores.close };
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
