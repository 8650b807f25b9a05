import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startPostgres, type Postgres } from '../../../test/support/postgres.ts';
import { Accounts } from '../../auth/accounts.ts';
import { PgRateLimiter } from '../../auth/pg-rate-limiter.ts';
import { RateLimiter } from '../../auth/rate-limiter.ts';
import { migratePostgres } from '../../meta/pg-migrate.ts';
import { PgMetadataStore } from '../../meta/pg-metadata-store.ts';
import { openPgPool, type PgPool } from '../../meta/pg-pool.ts';
import { PgUserStore } from '../../meta/pg-user-store.ts';
import { openDatabase } from '../../meta/sqlite-database.ts';
import { SqliteUserStore } from '../../meta/sqlite-user-store.ts';
import { pushImage, startTestRegistry, type TestRegistry } from './test-registry.ts';

// A NUL reaching SQL: SQLite compares it, PostgreSQL refuses the parameter (a 500). Both engines must answer alike.
let postgres: Postgres;
let pool: PgPool;

before(async () => {
  postgres = await startPostgres();
  pool = openPgPool(await postgres.createDatabase('nul_input'));
  await migratePostgres(pool);
});

after(async () => {
  await pool.close();
  await postgres.close();
});

async function answers(t: TestRegistry): Promise<string[]> {
  const { digest } = await pushImage(t.app, 'nul/repo', 'b');
  await pushImage(t.app, 'nul/zed', 'a');
  const urls = [
    '/v2/_catalog?last=nul%00x',
    '/v2/_catalog?last=%00',
    '/v2/nul/repo/tags/list?last=a%00',
    `/v2/nul/repo/referrers/${digest}?artifactType=x%00y`,
  ];
  const out: string[] = [];
  for (const url of urls) {
    const res = await t.app.inject({ method: 'GET', url });
    out.push(`${url} -> ${res.statusCode} ${res.body}`);
  }
  return out;
}

test('?last= and ?artifactType= holding a NUL: PostgreSQL answers as SQLite does', async () => {
  const sqlite = await startTestRegistry();
  const pg = await startTestRegistry({ meta: () => new PgMetadataStore(pool) });
  try {
    const expected = await answers(sqlite);
    assert.match(expected[0], / -> 200 \{"repositories":\["nul\/repo","nul\/zed"\]\}/);
    assert.match(expected[2], / -> 200 \{"name":"nul\/repo","tags":\["b"\]\}/);
    assert.deepEqual(await answers(pg), expected);
  } finally {
    await sqlite.close();
    await pg.close();
  }
});

test('a Basic-auth user name holding a NUL is an invalid login on both engines', async () => {
  const sqlite = new Accounts({ users: new SqliteUserStore(openDatabase(':memory:')), limiter: new RateLimiter({ limit: 5, windowSeconds: 60 }) });
  const pg = new Accounts({ users: new PgUserStore(pool), limiter: new PgRateLimiter(pool, { limit: 5, windowSeconds: 60 }) });
  for (const accounts of [sqlite, pg]) {
    assert.deepEqual(await accounts.login('a\u0000b', 'pw', '192.0.2.1'), { ok: false, reason: 'invalid' });
    const header = `Basic ${Buffer.from('a\u0000b:pw').toString('base64')}`;
    assert.deepEqual(await accounts.authenticateBasic(header, '192.0.2.1'), { ok: false, reason: 'invalid' });
  }
});
