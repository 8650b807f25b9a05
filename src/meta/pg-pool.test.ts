import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { startPostgres, type Postgres } from '../../test/support/postgres.ts';
import { Fault } from '../base/fault.ts';
import { distributionErrorFor } from '../oci/distribution-errors.ts';
import { openPgPool, untimedQuery } from './pg-pool.ts';

let server: Postgres;
let databases = 0;

before(async () => {
  server = await startPostgres();
});

after(() => server.close());

async function terminate(applicationName: string): Promise<void> {
  const admin = openPgPool(server.url);
  try {
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [applicationName]);
  } finally {
    await admin.close();
  }
}

test('a backend terminated mid-transaction fails the caller; nothing reaches uncaughtException', async () => {
  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown) => uncaught.push(err);
  process.on('uncaughtException', onUncaught);
  const pool = openPgPool(await server.createDatabase(`crash_${++databases}`), { applicationName: 'victim' });
  try {
    const pending = pool.transaction(async () => {
      await pool.query('SELECT 1');
      await pool.query('SELECT pg_sleep(5)');
    }).then(() => undefined, (err: unknown) => err);
    await sleep(500);
    await terminate('victim');
    const err = await pending;
    assert.ok(err instanceof Fault && err.kind === 'unavailable', String(err));
    await sleep(500);
    assert.deepEqual(uncaught, []);
    assert.equal(Number((await pool.query('SELECT 1 AS one')).rows[0].one), 1, 'the pool serves the next query');
  } finally {
    process.off('uncaughtException', onUncaught);
    await pool.close();
  }
});

test('a database failure says nothing of the database in the Fault message (it reaches HTTP error bodies)', async () => {
  const url = (await server.createDatabase(`leak_${++databases}`)).replace('wharf@', 'wharf:s3cret@');
  const pool = openPgPool(url);
  try {
    const failures = [
      await pool.query('SELECT * FROM no_such_table').catch((err: unknown) => err),
      await pool.transaction(() => pool.query('SELECT 1/0')).catch((err: unknown) => err),
    ];
    for (const err of failures) {
      assert.ok(err instanceof Fault, String(err));
      const wire = distributionErrorFor(err);
      assert.doesNotMatch(`${wire.message} ${JSON.stringify(wire.detail)}`, /127\.0\.0\.1|wharf|leak_|s3cret|\*\*\*/);
      // The server's log gets the redacted URL and the driver's message through the cause.
      assert.match(String((err.cause as Error).message), /postgres:\/\/wharf:\*\*\*@127\.0\.0\.1:\d+\/leak_/);
    }
    const unreachable = openPgPool(`postgres://wharf@127.0.0.1:1/${'nowhere'}`);
    const err = await unreachable.query('SELECT 1').catch((e: unknown) => e);
    await unreachable.close();
    assert.ok(err instanceof Fault && err.kind === 'unavailable');
    assert.equal(err.message, 'metadata database unavailable');
  } finally {
    await pool.close();
  }
});

test('a stalled backend (SIGSTOP) fails a query and a transaction within the query timeout instead of hanging', async () => {
  const pool = openPgPool(await server.createDatabase(`stall_${++databases}`), { max: 2, queryTimeoutMs: 1500 });
  const stopped: number[] = [];
  const stall = async () => {
    const pid = Number((await pool.query('SELECT pg_backend_pid() AS pid')).rows[0].pid);
    execFileSync('kill', ['-STOP', String(pid)]);
    stopped.push(pid);
  };
  try {
    const started = Date.now();
    await stall();
    const query = await pool.query('SELECT 1').catch((err: unknown) => err);
    const transaction = await pool.transaction(async () => {
      await stall();
      await pool.query('SELECT 2');
    }).catch((err: unknown) => err);
    const elapsed = Date.now() - started;
    for (const err of [query, transaction]) assert.ok(err instanceof Fault && err.kind === 'unavailable', String(err));
    assert.ok(elapsed < 6000, `failed after ${elapsed} ms`);
  } finally {
    for (const pid of stopped) execFileSync('kill', ['-CONT', String(pid)]);
  }
  // The stalled clients were thrown away: the pool (of two) answers again, and untimed queries run past the timeout.
  assert.equal(Number((await pool.query('SELECT 3 AS n')).rows[0].n), 3);
  await pool.query('SELECT pg_sleep(2)', [], untimedQuery);
  await pool.close();
});
