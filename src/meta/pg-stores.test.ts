import { after, before } from 'node:test';
import { type Postgres, startPostgres } from '../../test/support/postgres.ts';
import { PgGcIndex } from './pg-gc-index.ts';
import { PgMetadataStore } from './pg-metadata-store.ts';
import { migratePostgres } from './pg-migrate.ts';
import { openPgPool } from './pg-pool.ts';
import { PgRetentionIndex } from './pg-retention-index.ts';
import { PgUserStore } from './pg-user-store.ts';
import { PgV1Store } from './pg-v1-store.ts';
import { describeStores } from './stores-conformance.ts';

let server: Postgres;
let databases = 0;
before(async () => {
  server = await startPostgres();
});
after(() => server.close());

describeStores('PostgreSQL', async () => {
  const pool = openPgPool(await server.createDatabase(`stores_${++databases}`));
  await migratePostgres(pool);
  return {
    meta: new PgMetadataStore(pool),
    users: new PgUserStore(pool),
    v1: new PgV1Store(pool),
    gc: new PgGcIndex(pool),
    retention: new PgRetentionIndex(pool),
    transaction: pool.transaction,
    exec: async (sql: string) => {
      await pool.query(sql);
    },
    cleanup: () => pool.close(),
  };
});
