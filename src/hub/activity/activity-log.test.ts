import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FastifyRequest } from 'fastify';
import { createLogger } from '../../base/log.ts';
import type { ActivityRecord, ActivityStore } from '../../meta/activity-store.ts';
import { openDatabase } from '../../meta/sqlite-database.ts';
import { SqliteActivityStore } from '../../meta/sqlite-activity-store.ts';
import type { RegistryEvents, RequestEvents } from '../../registry/notifications/request-events.ts';
import { ActivityLog, type ActivityLogOptions } from './activity-log.ts';
import { teeEvents } from './tee-events.ts';

const logger = createLogger({ level: 'silent' });
const request = { method: 'GET' } as FastifyRequest;
const head = { method: 'HEAD' } as FastifyRequest;
const digest = (c: string) => `sha256:${c.repeat(64)}`;
const manifest = (c: string) => ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: digest(c), size: 10 });
const start = Date.UTC(2030, 0, 1);

function setup(options: Partial<ActivityLogOptions> = {}) {
  const store = new SqliteActivityStore(openDatabase(':memory:'));
  const clock = { now: start };
  const log = new ActivityLog({ store, logger, keep: 1000, flushMs: 60_000, now: () => clock.now, ...options });
  const rows = async () => (await store.list({ limit: 1000 })).map(({ id: _id, ...row }) => row);
  return { store, clock, log, rows };
}

const at = (ms: number) => new Date(start + ms).toISOString();

test('manifest pushes, pulls (GET, not HEAD) and deletes become rows; blob events are ignored', async () => {
  const { clock, log, rows } = setup();
  const alice = log.forRequest(request, 'alice');
  await alice.manifest('push', 'team/app', manifest('a'), 'v1');
  await alice.blob('push', 'team/app', { digest: digest('b'), size: 1 });
  await alice.mounted('team/app', { digest: digest('b'), size: 1 }, 'other');
  clock.now += 1;
  await log.forRequest(request).manifest('pull', 'team/app', manifest('a'), digest('a'));
  await log.forRequest(head, 'alice').manifest('pull', 'team/app', manifest('a'), 'v1');
  await log.forRequest(head, 'alice').deleted('team/app', 'v0');
  clock.now += 1;
  await alice.deleted('team/app', 'v1');
  await alice.deleted('team/app', digest('b'), 'blob');
  await alice.deleted('team/app', digest('a'));
  await alice.deleted('gone/app');
  await log.close();
  assert.deepEqual(await rows(), [
    { at: at(2), action: 'delete', repository: 'gone/app', tag: undefined, digest: undefined, actor: 'alice', count: 1 },
    { at: at(2), action: 'delete', repository: 'team/app', tag: undefined, digest: digest('a'), actor: 'alice', count: 1 },
    { at: at(2), action: 'delete', repository: 'team/app', tag: 'v1', digest: undefined, actor: 'alice', count: 1 },
    // The same millisecond: in the order they came (the pull first), not pushes and deletes before pulls.
    { at: at(1), action: 'delete', repository: 'team/app', tag: 'v0', digest: undefined, actor: 'alice', count: 1 },
    { at: at(1), action: 'pull', repository: 'team/app', tag: undefined, digest: digest('a'), actor: 'anonymous', count: 1 },
    { at: at(0), action: 'push', repository: 'team/app', tag: 'v1', digest: digest('a'), actor: 'alice', count: 1 },
  ]);
});

test('identical pulls in a window are one row with a count and the last time; any difference is a row of its own', async () => {
  const { clock, log, rows } = setup();
  const bob = log.forRequest(request, 'bob');
  for (let i = 0; i < 5; i++) {
    clock.now = start + i;
    await bob.manifest('pull', 'team/app', manifest('a'), 'latest');
  }
  await log.forRequest(request, 'carol').manifest('pull', 'team/app', manifest('a'), 'latest');
  await bob.manifest('pull', 'team/app', manifest('a'), digest('a'));
  await bob.manifest('pull', 'team/other', manifest('a'), 'latest');
  await bob.manifest('pull', 'team/app', manifest('a'), 'latest');
  clock.now = start + 10;
  await bob.manifest('pull', 'team/app', manifest('b'), 'latest');
  await log.flush();
  clock.now = start + 20;
  await bob.manifest('pull', 'team/app', manifest('b'), 'latest');
  clock.now = start + 30;
  // A coalesced pull reads no clock: the ticker (every 100 ms while rows are pending) moves it.
  await new Promise((resolve) => setTimeout(resolve, 250));
  await bob.manifest('pull', 'team/app', manifest('b'), 'latest');
  await log.close();
  const summary = (await rows()).map((r) => [r.actor, r.repository, r.tag ?? r.digest, r.digest === digest('a') ? 'a' : 'b', r.count, r.at]);
  assert.deepEqual(summary, [
    ['bob', 'team/app', 'latest', 'b', 2, at(30)],
    ['bob', 'team/app', 'latest', 'b', 1, at(10)],
    // Written oldest first (ties in the order they came, a coalesced row by its last pull), listed newest first.
    // The first five pulls' clock was last read by the new rows that came at 4.
    ['bob', 'team/app', 'latest', 'a', 6, at(4)],
    ['bob', 'team/other', 'latest', 'a', 1, at(4)],
    ['bob', 'team/app', digest('a'), 'a', 1, at(4)],
    ['carol', 'team/app', 'latest', 'a', 1, at(4)],
  ]);
});

test('nothing is written on the request path: a batch waits for the interval, or goes right after the turn that filled it', async () => {
  const appended: number[] = [];
  const store: ActivityStore = { append: async (rows) => void appended.push(rows.length), list: async () => [], prune: async () => 0 };
  const log = new ActivityLog({ store, logger, keep: 1000, flushMs: 50, batchRows: 10 });
  const events = log.forActor('ci');
  for (let i = 0; i < 3; i++) await events.manifest('push', `r/${i}`, manifest('a'), 'latest');
  assert.deepEqual(appended, [], 'not yet');
  await new Promise((resolve) => setTimeout(resolve, 120));
  assert.deepEqual(appended, [3], 'the interval wrote them in one append');
  for (let i = 0; i < 25; i++) await events.manifest('pull', `r/${i}`, manifest('a'), 'latest');
  assert.deepEqual(appended, [3], 'a full batch is written after the request, not during it');
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(appended, [3, 25], 'the pulls of one turn are one batch, written right after it, long before the interval');
  await log.close();
  assert.deepEqual(appended, [3, 25]);
});

test('close writes what is pending and records nothing after', async () => {
  const { log, rows } = setup();
  await log.forActor('alice').manifest('push', 'team/app', manifest('a'), 'v1');
  log.record({ action: 'push', repository: 'team/app', tag: 'v2', digest: digest('b'), actor: 'autobuild' });
  await log.close();
  assert.deepEqual((await rows()).map((r) => [r.actor, r.tag]), [['autobuild', 'v2'], ['alice', 'v1']]);
  await log.forActor('alice').manifest('pull', 'team/app', manifest('a'), 'v1');
  log.record({ action: 'delete', repository: 'team/app', actor: 'alice' });
  await log.flush();
  assert.equal((await rows()).length, 2);
});

test('the table is pruned to `keep` after a write, at most once per interval', async () => {
  const { clock, log, rows } = setup({ keep: 3, pruneEveryMs: 1000 });
  for (let i = 0; i < 5; i++) log.record({ action: 'push', repository: `r/${i}`, actor: 'a' });
  await log.flush();
  assert.deepEqual((await rows()).map((r) => r.repository), ['r/4', 'r/3', 'r/2']);
  for (let i = 5; i < 8; i++) log.record({ action: 'push', repository: `r/${i}`, actor: 'a' });
  await log.flush();
  assert.equal((await rows()).length, 6, 'not again within the interval');
  clock.now += 1000;
  log.record({ action: 'push', repository: 'r/8', actor: 'a' });
  await log.close();
  assert.deepEqual((await rows()).map((r) => r.repository), ['r/8', 'r/7', 'r/6']);
});

test('a failed write is retried with the next batch, in order', async () => {
  const written: ActivityRecord[] = [];
  let fail = true;
  const store: ActivityStore = {
    append: async (rows) => {
      if (fail) throw new Error('database is locked');
      written.push(...rows);
    },
    list: async () => [],
    prune: async () => 0,
  };
  const log = new ActivityLog({ store, logger, keep: 1000, flushMs: 60_000 });
  log.record({ action: 'push', repository: 'r/1', actor: 'a' });
  await log.flush();
  fail = false;
  log.record({ action: 'push', repository: 'r/2', actor: 'a' });
  await log.close();
  assert.deepEqual(written.map((r) => r.repository), ['r/1', 'r/2']);
});

test('one write at a time: rows wait for it under the held-rows bound, the rest are dropped', async () => {
  const written: ActivityRecord[] = [];
  let inFlight = 0;
  let mostInFlight = 0;
  let release = () => {};
  let blocked: Promise<void> = new Promise((resolve) => (release = resolve));
  const store: ActivityStore = {
    append: async (rows) => {
      mostInFlight = Math.max(mostInFlight, ++inFlight);
      await blocked;
      written.push(...rows);
      inFlight--;
    },
    list: async () => [],
    prune: async () => 0,
  };
  const log = new ActivityLog({ store, logger, keep: 1000, flushMs: 5, batchRows: 10 });
  const turns = async (n: number) => {
    for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
  };
  for (let i = 0; i < 10; i++) log.record({ action: 'push', repository: `r/${i}`, actor: 'a' });
  await turns(2);
  assert.equal(inFlight, 1, 'the first batch is being written');
  for (let i = 10; i < 600; i++) {
    log.record({ action: 'push', repository: `r/${i}`, actor: 'a' });
    await log.forActor('b').manifest('pull', 'p/app', manifest(String(i % 10)), `t${i}`);
    if (i % 50 === 0) await turns(1);
  }
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.equal(mostInFlight, 1, 'no second write while the first is under way');
  blocked = Promise.resolve();
  release();
  await log.close();
  assert.equal(mostInFlight, 1);
  assert.equal(written.length, 10 + 100, 'the first batch, then as many rows as 10 batches hold');
  assert.deepEqual(written.slice(0, 10).map((r) => r.repository), ['r/0', 'r/1', 'r/2', 'r/3', 'r/4', 'r/5', 'r/6', 'r/7', 'r/8', 'r/9']);
  assert.ok(written.some((r) => r.repository === 'r/10') && written.some((r) => r.repository === 'p/app'), 'the oldest waiting rows of both kinds');
});

test('teeEvents hands each event to every part, skips absent ones and returns a single part as it is', async () => {
  const seen: string[] = [];
  const part = (name: string): RegistryEvents => ({
    forRequest: (_request, actor): RequestEvents => ({
      manifest: async (action, repository) => void seen.push(`${name} ${actor} ${action} ${repository}`),
      blob: async (action) => void seen.push(`${name} blob ${action}`),
      mounted: async () => void seen.push(`${name} mounted`),
      deleted: async (repository, reference, what) => void seen.push(`${name} deleted ${repository} ${reference} ${what}`),
    }),
  });
  const one = part('one');
  assert.equal(teeEvents(undefined, one), one);
  const events = teeEvents(one, undefined, part('two')).forRequest(request, 'eve');
  await events.manifest('pull', 'r', manifest('a'), 'latest');
  await events.deleted('r', digest('a'), 'blob');
  await events.mounted('r', { digest: digest('a'), size: 1 });
  await events.blob('push', 'r', { digest: digest('a'), size: 1 });
  assert.deepEqual(seen, [
    'one eve pull r', 'two eve pull r',
    `one deleted r ${digest('a')} blob`, `two deleted r ${digest('a')} blob`,
    'one mounted', 'two mounted',
    'one blob push', 'two blob push',
  ]);
  await teeEvents().forRequest(request).manifest('push', 'r', manifest('a'), 'x');
});
