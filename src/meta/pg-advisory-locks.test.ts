import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { startPostgres, type Postgres } from '../../test/support/postgres.ts';
import { PgAdvisoryLocks } from './pg-advisory-locks.ts';
import { PgGcLock } from './pg-gc-lock.ts';
import { openPgPool, type PgPool } from './pg-pool.ts';

let postgres: Postgres;
const pools: PgPool[] = [];

before(async () => {
  postgres = await startPostgres();
});

after(async () => {
  await Promise.all(pools.map((p) => p.close()));
  await postgres.close();
});

function replica(): PgAdvisoryLocks {
  const pool = openPgPool(postgres.url);
  pools.push(pool);
  return new PgAdvisoryLocks(pool);
}

test('a lock held by one replica is refused to the other until released', async () => {
  const a = replica();
  const b = replica();
  const release = await a.tryLock('ingest:one');
  assert.ok(release);
  assert.equal(await b.tryLock('ingest:one'), undefined);
  assert.equal(await a.tryLock('ingest:one'), undefined, 'the holder itself does not take it twice');
  const other = await b.tryLock('ingest:two');
  assert.ok(other, 'other names are independent');
  await release();
  await release();
  const taken = await b.tryLock('ingest:one');
  assert.ok(taken);
  assert.equal(await a.tryLock('ingest:one'), undefined);
  await taken();
  await other();
  await a.close();
  await b.close();
});

test('racing calls in one process: exactly one wins', async () => {
  const a = replica();
  const results = await Promise.all(Array.from({ length: 8 }, () => a.tryLock('ingest:race')));
  assert.equal(results.filter(Boolean).length, 1);
  await a.close();
});

test('a replica killed with -9 frees its locks at once', async () => {
  const child = spawn(process.execPath, ['--input-type=module', '-e', `
    import { openPgPool } from ${JSON.stringify(new URL('./pg-pool.ts', import.meta.url).href)};
    import { PgAdvisoryLocks } from ${JSON.stringify(new URL('./pg-advisory-locks.ts', import.meta.url).href)};
    const locks = new PgAdvisoryLocks(openPgPool(${JSON.stringify(postgres.url)}));
    if (await locks.tryLock('ingest:crash') && await locks.tryLock('gc')) console.log('locked');
    setInterval(() => {}, 1000);
  `], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = await once(child.stdout!, 'data');
  assert.equal(String(line).trim(), 'locked');
  const b = replica();
  assert.equal(await b.tryLock('ingest:crash'), undefined);
  assert.equal(await new PgGcLock(b).tryLock(), undefined);
  child.kill('SIGKILL');
  await once(child, 'exit');
  const started = Date.now();
  let release;
  while (!(release = await b.tryLock('ingest:crash')) && Date.now() - started < 5000) await new Promise((r) => setTimeout(r, 20));
  assert.ok(release, 'the dead replica\'s lock is free');
  assert.ok(await new PgGcLock(b).tryLock());
  await b.close();
});

test('a dropped lock connection takes its locks again on reconnect', async () => {
  const a = replica();
  const b = replica();
  const release = await a.tryLock('ingest:reconnect');
  assert.ok(release);
  const admin = openPgPool(postgres.url);
  pools.push(admin);
  const holders = await admin.query("SELECT array_agg(pid) AS pids FROM pg_locks WHERE locktype = 'advisory'");
  // Cut a's lock connection from the server side, as a restarted PgBouncer or a network blip would.
  await admin.query("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'");
  const started = Date.now();
  const retaken = async () => (await admin.query("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT (pid = ANY($1))", [holders.rows[0].pids])).rows[0].n === 1;
  while (!(await retaken()) && Date.now() - started < 5000) await new Promise((r) => setTimeout(r, 20));
  assert.equal(await b.tryLock('ingest:reconnect'), undefined, 'a holds it again after reconnecting');
  await release();
  assert.ok(await b.tryLock('ingest:reconnect'));
  await a.close();
  await b.close();
});

/** A replica on a database of its own, whose connections the test can refuse for a while (a restart, a failover). */
async function refusingDatabase(name: string) {
  const url = await postgres.createDatabase(name);
  const admin = openPgPool(postgres.url);
  const mine = openPgPool(url, { applicationName: `${name}_mine` });
  const other = openPgPool(url);
  pools.push(admin, mine, other);
  const logs: string[] = [];
  const logger = { warn: (_o: unknown, m: string) => logs.push(`warn ${m}`), error: (_o: unknown, m: string) => logs.push(`error ${m}`), info() {}, debug() {} };
  const dropAndRefuse = async () => {
    await admin.query(`ALTER DATABASE ${name} WITH ALLOW_CONNECTIONS false`);
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [`${name}_mine`]);
  };
  const allow = () => admin.query(`ALTER DATABASE ${name} WITH ALLOW_CONNECTIONS true`);
  return { mine, other, logs, logger: logger as never, dropAndRefuse, allow };
}

test('a lock connection that cannot reopen at once is retried with backoff, and its locks taken again', async () => {
  const db = await refusingDatabase('locks_retry');
  const locks = new PgAdvisoryLocks(db.mine, { logger: db.logger, reconnect: { attempts: 20, firstDelayMs: 100, maxDelayMs: 400 } });
  const theirs = new PgAdvisoryLocks(db.other);
  const release = await locks.tryLock('gc');
  assert.ok(release);
  await db.dropAndRefuse();
  await sleep(1000);
  await db.allow();
  // Retries are at most 400 ms apart: the next one reconnects and retakes.
  await sleep(1500);
  assert.ok(db.logs.some((l) => l === 'warn advisory locks: reconnect failed; retrying'), db.logs.join('\n'));
  assert.equal(locks.size, 1);
  assert.equal(await theirs.tryLock('gc'), undefined, 'this replica holds gc again; the other cannot take it');
  await release();
  assert.ok(await theirs.tryLock('gc'));
  await locks.close();
  await theirs.close();
});

test('when the retries run out, the held locks are dropped and logged, so this process no longer believes it holds them', async () => {
  const db = await refusingDatabase('locks_lost');
  const locks = new PgAdvisoryLocks(db.mine, { logger: db.logger, reconnect: { attempts: 3, firstDelayMs: 50, maxDelayMs: 100 } });
  const theirs = new PgAdvisoryLocks(db.other);
  const release = await locks.tryLock('gc');
  assert.ok(release);
  await db.dropAndRefuse();
  const started = Date.now();
  while (locks.size > 0 && Date.now() - started < 5000) await sleep(50);
  await db.allow();
  assert.equal(locks.size, 0);
  assert.ok(db.logs.includes('error advisory locks: reconnect failed; held locks are lost'), db.logs.join('\n'));
  const stolen = await theirs.tryLock('gc');
  assert.ok(stolen, 'the lock is free for the other replica');
  assert.equal(await locks.tryLock('gc'), undefined, 'and this one sees it taken');
  await release();
  await stolen();
  assert.ok(await locks.tryLock('gc'), 'the stale release did not free the other replica\'s lock; now it is free');
  await locks.close();
  await theirs.close();
});
