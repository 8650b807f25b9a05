import { after, before } from 'node:test';
import { type Postgres, startPostgres } from '../../test/support/postgres.ts';
import { openPostgresMeta } from '../main/open-postgres-meta.ts';
import { openPgPool } from './pg-pool.ts';
import { describeStores } from './stores-conformance.ts';

let server: Postgres;
let databases = 0;
before(async () => {
  server = await startPostgres();
});
after(() => server.close());

describeStores('PostgreSQL', async () => {
  const pool = openPgPool(await server.createDatabase(`stores_${++databases}`));
  const stores = await openPostgresMeta(pool);
  return {
    ...stores,
    exec: async (sql: string) => {
      await pool.query(sql);
    },
    cleanup: stores.close,
  };
});
