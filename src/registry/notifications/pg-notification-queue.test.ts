import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { type Postgres, startPostgres } from '../../../test/support/postgres.ts';
import { PgAdvisoryLocks } from '../../meta/pg-advisory-locks.ts';
import { migratePostgres } from '../../meta/pg-migrate.ts';
import { openPgPool, type PgPool } from '../../meta/pg-pool.ts';
import { PgNotificationQueue } from './pg-notification-queue.ts';
import { describeNotificationQueue } from './queue-conformance.ts';

let server: Postgres | undefined;
let databases = 0;
before(async () => {
  server = await startPostgres();
});
after(() => server?.close());

describeNotificationQueue('PostgreSQL', async () => {
  const url = await server!.createDatabase(`queue_${++databases}`);
  const opened: { pool: PgPool; locks: PgAdvisoryLocks }[] = [];
  // Each handle is a process of its own: its pool and its claim connection (a replica, or the same after a restart).
  const handle = () => {
    const pool = openPgPool(url);
    const locks = new PgAdvisoryLocks(pool);
    opened.push({ pool, locks });
    return new PgNotificationQueue(pool, locks);
  };
  const queue = handle();
  await migratePostgres(opened[0].pool);
  return {
    queue,
    reopen: async () => handle(),
    close: async () => {
      for (const { pool, locks } of opened) {
        await locks.close();
        await pool.close();
      }
    },
  };
});

test('an append committing late holds back the endpoint\'s later appends, so a reader past its seq never skips it', async (t) => {
  const url = await server!.createDatabase(`queue_${++databases}`);
  const pools = [openPgPool(url), openPgPool(url)];
  const locks = pools.map((pool) => new PgAdvisoryLocks(pool));
  t.after(async () => {
    for (const lock of locks) await lock.close();
    for (const pool of pools) await pool.close();
  });
  await migratePostgres(pools[0]);
  const [slow, fast] = pools.map((pool, i) => new PgNotificationQueue(pool, locks[i]));
  let commit!: () => void;
  const held = new Promise<void>((resolve) => (commit = resolve));
  let appended!: () => void;
  const seqTaken = new Promise<void>((resolve) => (appended = resolve));
  // One replica's append, its seq taken, not yet committed (the transaction joins the caller's).
  const first = pools[0].transaction(async () => {
    await slow.append([{ event: 'first', endpoints: ['hook'] }]);
    appended();
    await held;
  });
  await Promise.race([seqTaken, first]);
  const second = fast.append([{ event: 'second', endpoints: ['hook'] }]);
  await sleep(300);
  try {
    assert.equal(await fast.head('hook'), undefined, 'the later append waits for the earlier one to commit');
  } finally {
    commit();
    await Promise.all([first, second]);
  }
  const head = (await fast.head('hook'))!;
  assert.equal(head.event, 'first');
  assert.equal((await fast.head('hook', head.seq))?.event, 'second');
});

test('a claim lost with its lock connection (another replica took the endpoint meanwhile) reads as not held, and the sender stops delivering', async (t) => {
  const name = `queue_${++databases}`;
  const url = await server!.createDatabase(name);
  const admin = openPgPool(server!.url);
  const mine = openPgPool(url, { applicationName: `${name}_mine` });
  const theirs = openPgPool(url);
  const myLocks = new PgAdvisoryLocks(mine, { reconnect: { attempts: 20, firstDelayMs: 50, maxDelayMs: 100 } });
  const theirLocks = new PgAdvisoryLocks(theirs);
  t.after(async () => {
    await myLocks.close();
    await theirLocks.close();
    for (const pool of [mine, theirs, admin]) await pool.close();
  });
  await migratePostgres(mine);
  const [myQueue, theirQueue] = [new PgNotificationQueue(mine, myLocks), new PgNotificationQueue(theirs, theirLocks)];
  const claim = await myQueue.claim('hook');
  assert.ok(claim?.held);
  assert.equal(await theirQueue.claim('hook'), undefined, 'the other replica waits (its lock connection is now open)');
  // My lock connection drops and cannot come back at once; the other replica takes the endpoint meanwhile.
  await admin.query(`ALTER DATABASE ${name} WITH ALLOW_CONNECTIONS false`);
  await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [`${name}_mine`]);
  let stolen;
  for (let tries = 0; !stolen && tries < 100; tries++) stolen = await theirQueue.claim('hook').catch(() => undefined) ?? (await sleep(20), undefined);
  assert.ok(stolen?.held, 'the other replica holds the endpoint');
  await admin.query(`ALTER DATABASE ${name} WITH ALLOW_CONNECTIONS true`);
  const deadline = Date.now() + 5000;
  while (claim.held && Date.now() < deadline) await sleep(20);
  assert.equal(claim.held, false, 'the lost claim is seen as lost once the reconnect finds the lock taken');
  await claim.release();
  assert.ok(stolen.held, 'releasing the lost claim does not free the other replica\'s');
  await stolen.release();
});
