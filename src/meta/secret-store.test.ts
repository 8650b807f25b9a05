import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Postgres, startPostgres } from '../../test/support/postgres.ts';
import { makeTempDir } from '../../test/support/temp.ts';
import { migratePostgres } from './pg-migrate.ts';
import { openPgPool } from './pg-pool.ts';
import { PgSecretStore } from './pg-secret-store.ts';
import { secretBytes, type SecretStore } from './secret-store.ts';
import { openDatabase } from './sqlite-database.ts';
import { SqliteSecretStore } from './sqlite-secret-store.ts';

interface Opened {
  store: SecretStore;
  close(): Promise<void>;
}

/** A fresh backend (one database); each call of the function it gives opens a connection of its own, as a replica does. */
type Backend = () => Promise<() => Promise<Opened>>;

function describeSecrets(backend: Backend): void {
  test('generated once: the same for every connection to the backend, and after a reopen', async () => {
    const open = await backend();
    const [a, b] = [await open(), await open()];
    try {
      const first = await a.store.secret('v1-index-token');
      assert.equal(first.length, secretBytes);
      assert.deepEqual(await b.store.secret('v1-index-token'), first);
      assert.deepEqual(await a.store.secret('v1-index-token'), first);
      assert.notDeepEqual(await b.store.secret('other'), first, 'each name has its own secret');
    } finally {
      await a.close();
    }
    const again = await open();
    try {
      assert.deepEqual(await again.store.secret('v1-index-token'), await b.store.secret('v1-index-token'));
    } finally {
      await Promise.all([again.close(), b.close()]);
    }
  });

  test('connections asking at once for a new name all get the one secret stored', async () => {
    const open = await backend();
    const opened = await Promise.all([open(), open(), open()]);
    try {
      const got = await Promise.all(opened.flatMap((o) => [o.store.secret('race'), o.store.secret('race')]));
      for (const secret of got) assert.deepEqual(secret, got[0]);
    } finally {
      await Promise.all(opened.map((o) => o.close()));
    }
  });
}

describe('SecretStore: SQLite', () => {
  const tmp = makeTempDir('wharf-secrets-');
  after(() => tmp.remove());
  let files = 0;
  describeSecrets(async () => {
    const file = join(tmp.path, `meta-${++files}.db`);
    return async () => {
      const db = openDatabase(file);
      return { store: new SqliteSecretStore(db), close: async () => db.close() };
    };
  });
});

describe('SecretStore: PostgreSQL', () => {
  let server: Postgres;
  before(async () => {
    server = await startPostgres();
  });
  after(() => server.close());
  let databases = 0;
  describeSecrets(async () => {
    const url = await server.createDatabase(`secrets_${++databases}`);
    const migrator = openPgPool(url);
    await migratePostgres(migrator).finally(() => migrator.close());
    return async () => {
      const pool = openPgPool(url, { max: 2 });
      return { store: new PgSecretStore(pool), close: () => pool.close() };
    };
  });
});
