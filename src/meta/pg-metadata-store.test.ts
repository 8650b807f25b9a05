import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Postgres, startPostgres } from '../../test/support/postgres.ts';
import { describeMetadataStore } from './conformance.ts';
import { PgMetadataStore } from './pg-metadata-store.ts';
import { migratePostgres } from './pg-migrate.ts';
import { describeQuotaStore } from './quota-conformance.ts';
import { openPgPool, type PgPool } from './pg-pool.ts';

let server: Postgres;
let databases = 0;
before(async () => {
  server = await startPostgres();
});
after(() => server.close());

async function freshPool(): Promise<PgPool> {
  const pool = openPgPool(await server.createDatabase(`meta_${++databases}`));
  await migratePostgres(pool);
  return pool;
}

describeMetadataStore('PgMetadataStore', async () => {
  const pool = await freshPool();
  return {
    store: new PgMetadataStore(pool),
    reopen: async () => new PgMetadataStore(pool),
    cleanup: () => pool.close(),
  };
});

describeQuotaStore('PgMetadataStore', async () => {
  const pool = await freshPool();
  return { store: new PgMetadataStore(pool), cleanup: () => pool.close() };
});

test('putManifest racing deleteRepository ends in one of the two orders, never half', async () => {
  const pool = await freshPool();
  const store = new PgMetadataStore(pool);
  try {
    for (let round = 0; round < 20; round++) {
      const repository = `race/${round}`;
      await store.putManifest(manifest(repository, 'old', 'latest'));
      await Promise.all([store.putManifest(manifest(repository, `new-${round}`, 'latest')), store.deleteRepository(repository)]);
      const repo = await store.getRepository(repository);
      const manifests = await store.listManifests(repository);
      const tag = await store.resolveTag(repository, 'latest');
      const link = await store.getBlobLink(repository, `sha256:${'b'.repeat(64)}`);
      if (repo === undefined) {
        assert.deepEqual([manifests.length, tag, link], [0, undefined, undefined], 'deleted last: nothing left');
      } else {
        assert.deepEqual(manifests.map((m) => m.digest), [digestOf(`new-${round}`)], 'put last: only the new manifest');
        assert.equal(tag, digestOf(`new-${round}`));
        assert.ok(link, 'with its blob link');
      }
    }
  } finally {
    await pool.close();
  }
});

test('two setTag at once leave the tag on one of the two manifests', async () => {
  const pool = await freshPool();
  const store = new PgMetadataStore(pool);
  try {
    await store.putManifest(manifest('tags', 'a'));
    await store.putManifest(manifest('tags', 'b'));
    for (let round = 0; round < 20; round++) {
      await Promise.all([store.setTag('tags', 't', digestOf('a')), store.setTag('tags', 't', digestOf('b'))]);
      assert.ok([digestOf('a'), digestOf('b')].includes((await store.resolveTag('tags', 't')) ?? ''));
      assert.deepEqual(await store.listTags('tags'), ['t']);
    }
  } finally {
    await pool.close();
  }
});

test('setTag racing deleteManifest never leaves a tag on a missing manifest', async () => {
  const pool = await freshPool();
  const store = new PgMetadataStore(pool);
  try {
    for (let round = 0; round < 20; round++) {
      await store.putManifest(manifest('gone', `m${round}`));
      const results = await Promise.allSettled([store.setTag('gone', `t${round}`, digestOf(`m${round}`)), store.deleteManifest('gone', digestOf(`m${round}`))]);
      assert.equal(results[1].status, 'fulfilled');
      assert.equal(await store.resolveTag('gone', `t${round}`), undefined, 'the delete removed the tag or the tag never came');
    }
  } finally {
    await pool.close();
  }
});

test('names and tags are declared COLLATE "C" by the schema, not inherited from the cluster', async () => {
  const pool = await freshPool();
  const store = new PgMetadataStore(pool);
  try {
    const { rows } = await pool.query(`SELECT collation_name FROM information_schema.columns WHERE table_name IN ('repositories', 'tags') AND column_name IN ('name', 'tag')`);
    assert.deepEqual(rows.map((r) => r.collation_name), ['C', 'C']);
    for (const name of ['a_b', 'B', 'a', 'a/b', 'a-b']) await store.ensureRepository(name);
    assert.deepEqual(await store.listRepositories(), ['B', 'a', 'a-b', 'a/b', 'a_b']);
  } finally {
    await pool.close();
  }
});

function digestOf(seed: string): string {
  return `sha256:${Buffer.from(seed).toString('hex').padEnd(64, '0').slice(0, 64)}`;
}

function manifest(repository: string, seed: string, tag?: string) {
  return {
    repository,
    digest: digestOf(seed),
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    size: 10,
    blobs: [{ digest: `sha256:${'b'.repeat(64)}`, size: 5 }],
    manifests: [],
    ...(tag ? { tag } : {}),
  };
}
