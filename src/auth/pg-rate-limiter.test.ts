import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startPostgres, type Postgres } from '../../test/support/postgres.ts';
import { openPgPool, type PgPool } from '../meta/pg-pool.ts';
import { PgRateLimiter } from './pg-rate-limiter.ts';

let postgres: Postgres;
const pools: PgPool[] = [];
let now = 1_000_000_000;

before(async () => {
  postgres = await startPostgres();
});

after(async () => {
  await Promise.all(pools.map((p) => p.close()));
  await postgres.close();
});

/** One replica's limiter: its own pool on the shared database, the test's clock. */
function replica(): PgRateLimiter {
  const pool = openPgPool(postgres.url);
  pools.push(pool);
  return new PgRateLimiter(pool, { limit: 3, windowSeconds: 60, now: () => now });
}

test('failures counted through either replica hold the key back on both, until the oldest ages out', async () => {
  const [a, b] = await Promise.all([replica(), replica()]);
  await a.fail('account:x');
  now += 10_000;
  await b.fail('account:x');
  assert.equal(await a.retryAfter('account:x'), 0);
  await a.fail('account:x');
  assert.equal(await b.retryAfter('account:x'), 50, 'the first failure leaves the window 50 s from now');
  assert.equal(await a.retryAfter('account:x'), 50);
  assert.equal(await b.retryAfter('ip:y'), 0, 'other keys are not affected');
  now += 50_000;
  assert.equal(await a.retryAfter('account:x'), 0);
});

test('a success through one replica clears the key for both; old rows are pruned', async () => {
  const [a, b] = [replica(), replica()];
  for (let i = 0; i < 5; i++) await a.fail('account:z');
  assert.ok((await b.retryAfter('account:z')) > 0);
  await b.succeed('account:z');
  assert.equal(await a.retryAfter('account:z'), 0);
  await a.fail('ip:old');
  now += 120_000;
  await a.fail('ip:new');
  const { rows } = await pools[0].query('SELECT key FROM login_failures ORDER BY key');
  assert.deepEqual(rows.map((r) => r.key), ['ip:new'], 'a failure prunes everything older than the window');
});
