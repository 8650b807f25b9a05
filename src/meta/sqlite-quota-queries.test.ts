import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { describeQuotaStore } from './quota-conformance.ts';
import { openDatabase } from './sqlite-database.ts';
import { SqliteMetadataStore } from './sqlite-metadata-store.ts';

describeQuotaStore('SqliteMetadataStore', async () => {
  const db = openDatabase(':memory:');
  return { store: new SqliteMetadataStore(db), cleanup: async () => db.close() };
});

// Each worker is a connection of its own running in parallel, as another `wharf registry serve` on the same
// meta.db is: it links its blobs into the namespace through the checked write and reports what landed.
const workerSource = `
const { workerData, parentPort } = require('node:worker_threads');
(async () => {
  const { openDatabase } = await import(workerData.database);
  const { SqliteMetadataStore } = await import(workerData.store);
  const db = openDatabase(workerData.path);
  const store = new SqliteMetadataStore(db);
  // A start gate: every worker has its connection before any writes, so their writes overlap.
  Atomics.add(workerData.gate, 0, 1);
  while (Atomics.load(workerData.gate, 0) < workerData.workers) Atomics.wait(workerData.gate, 0, Atomics.load(workerData.gate, 0), 5);
  let linked = 0;
  for (let i = 0; i < workerData.blobs; i++) {
    const digest = 'sha256:' + (workerData.worker * 1000 + i).toString(16).padStart(64, '0');
    try {
      await store.linkBlob('team/w' + workerData.worker, { digest, size: 1000 }, { quotaNamespace: 'team' });
      linked++;
    } catch (err) {
      if (!/quota exceeded/.test(err.message)) throw err;
    }
  }
  db.close();
  parentPort.postMessage(linked);
})();
`;

test('processes sharing meta.db link concurrently and the namespace still ends within its quota', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-quota-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'meta.db');
  const db = openDatabase(path);
  t.after(() => db.close());
  const store = new SqliteMetadataStore(db);
  await store.setQuota('team', 50_500);
  const paths = { database: import.meta.resolve('./sqlite-database.ts'), store: import.meta.resolve('./sqlite-metadata-store.ts') };
  const gate = new Int32Array(new SharedArrayBuffer(4));
  const linked = await Promise.all(Array.from({ length: 4 }, (_, worker) => new Promise<number>((resolve, reject) => {
    const w = new Worker(workerSource, { eval: true, workerData: { ...paths, path, gate, workers: 4, worker, blobs: 40 } });
    w.once('message', resolve);
    w.once('error', reject);
  })));
  assert.equal(linked.reduce((a, b) => a + b, 0), 50, `linked per worker: ${linked.join(', ')}`);
  assert.equal(await store.namespaceUsage('team'), 50_000);
});
