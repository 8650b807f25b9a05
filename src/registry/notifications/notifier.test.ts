import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { configSchema } from '../../base/config.ts';
import { openDatabase } from '../../meta/sqlite-database.ts';
import type { PostEnvelope } from './endpoint-sender.ts';
import { buildEvent, type EventOrigin } from './notification-event.ts';
import type { NotificationQueue } from './notification-queue.ts';
import { Notifier } from './notifier.ts';
import { SqliteNotificationQueue } from './sqlite-notification-queue.ts';

const origin: EventOrigin = { request: { id: 'r', method: 'GET', useragent: '' }, actor: {}, source: {} };
const never: PostEnvelope = (_s, _b, signal) => new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason)));

function endpoints(list: Record<string, unknown>[]) {
  return configSchema.parse({ registry: { notifications: { endpoints: list.map((e) => ({ url: 'http://127.0.0.1:9/', ...e })) } } }).registry.notifications.endpoints;
}

test('each endpoint queues what it does not ignore; disabled ones queue nothing', async () => {
  const queue = new SqliteNotificationQueue(openDatabase(':memory:'));
  const notifier = new Notifier({
    endpoints: endpoints([
      { name: 'all' },
      { name: 'no-blobs', ignoredMediaTypes: ['application/octet-stream'] },
      { name: 'no-pulls', ignore: { actions: ['pull'], mediaTypes: ['application/x-ignored'] } },
      { name: 'off', disabled: true },
    ]),
    queue,
    logger: pino({ level: 'silent' }),
    publicUrl: '',
    post: never,
  });
  notifier.publish(buildEvent('pull', { repository: 'r', mediaType: 'application/octet-stream' }, origin));
  await notifier.publish(buildEvent('push', { repository: 'r', mediaType: 'application/octet-stream' }, origin));
  notifier.publish(buildEvent('push', { repository: 'r', mediaType: 'application/x-ignored' }, origin));
  notifier.publish(buildEvent('delete', { repository: 'r' }, origin));
  await notifier.close();
  assert.deepEqual(
    await Promise.all(['all', 'no-blobs', 'no-pulls', 'off'].map((name) => queue.count(name))),
    [4, 2, 2, 0],
  );
});

test('a full queue drops new events with an error log naming the endpoint', async () => {
  const queue = new SqliteNotificationQueue(openDatabase(':memory:'));
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'error' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  const notifier = new Notifier({ endpoints: endpoints([{ name: 'small', maxQueued: 2 }, { name: 'big' }]), queue, logger, publicUrl: '', post: never });
  // Pulls wait for the next turn of the event loop: the cap counts them all the same.
  const published = Array.from({ length: 3 }, () => buildEvent('pull', { repository: 'r' }, origin));
  for (const event of published) notifier.publish(event);
  await notifier.close();
  assert.equal(await queue.count('small'), 2);
  assert.equal(await queue.count('big'), 3);
  assert.equal(lines.length, 1);
  assert.equal(lines[0].endpoint, 'small');
  assert.equal(lines[0].eventId, published[2].id);
  assert.match(String(lines[0].msg), /notification dropped/);
});

test('config refuses what distribution would not take', () => {
  const parse = (endpoint: Record<string, unknown>) => configSchema.safeParse({ registry: { notifications: { endpoints: [endpoint] } } }).success;
  assert.equal(parse({ name: 'a', url: 'http://h/' }), true);
  assert.equal(parse({ name: 'a', url: 'ftp://h/' }), false);
  assert.equal(parse({ name: 'a', url: 'http://h/', timeout: '5 seconds' }), false);
  assert.equal(parse({ name: 'a', url: 'http://h/', ignore: { actions: ['pul'] } }), false);
  assert.equal(parse({ name: 'a', url: 'http://h/', ignoredmediatypes: [] }), false, 'keys are camelCase like the rest of the config');
  assert.equal(configSchema.safeParse({ registry: { notifications: { endpoints: [{ name: 'a', url: 'http://h/' }, { name: 'a', url: 'http://g/' }] } } }).success, false);
});

test('a push is on disk when publish resolves; pulls follow at the next turn, never after a later event', async () => {
  const queue = new SqliteNotificationQueue(openDatabase(':memory:'));
  const notifier = new Notifier({ endpoints: endpoints([{ name: 'hook' }]), queue, logger: pino({ level: 'silent' }), publicUrl: '', post: never });
  const pull = buildEvent('pull', { repository: 'r' }, origin);
  notifier.publish(pull);
  assert.equal(await queue.count('hook'), 0, 'a lone pull waits for the turn');
  const push = buildEvent('push', { repository: 'r' }, origin);
  await notifier.publish(push);
  assert.equal(await queue.count('hook'), 2, 'the push took the pull before it along');
  assert.equal(JSON.parse((await queue.head('hook'))!.event).id, pull.id);
  const later = buildEvent('pull', { repository: 'r' }, origin);
  notifier.publish(later);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(await queue.count('hook'), 3);
  notifier.publish(buildEvent('pull', { repository: 'r' }, origin));
  await notifier.close();
  assert.equal(await queue.count('hook'), 4, 'close commits what was pending');
});

test('a push whose event cannot be queued fails its caller; the event is queued by the next publish', async () => {
  const real = new SqliteNotificationQueue(openDatabase(':memory:'));
  let full = true;
  const queue: NotificationQueue = {
    append: async (entries) => {
      if (full) throw Object.assign(new Error('database or disk is full'), { code: 'ERR_SQLITE_ERROR' });
      await real.append(entries);
    },
    head: (endpoint, after) => real.head(endpoint, after),
    removeThrough: (endpoint, seq) => real.removeThrough(endpoint, seq),
    count: (endpoint) => real.count(endpoint),
    endpointsQueued: () => real.endpointsQueued(),
    claim: (endpoint) => real.claim(endpoint),
    shared: false,
  };
  const notifier = new Notifier({ endpoints: endpoints([{ name: 'hook' }]), queue, logger: pino({ level: 'silent' }), publicUrl: '', post: never });
  const first = buildEvent('push', { repository: 'r' }, origin);
  await assert.rejects(notifier.publish(first), /disk is full/);
  full = false;
  const second = buildEvent('delete', { repository: 'r' }, origin);
  await notifier.publish(second);
  await notifier.close();
  assert.equal(await real.count('hook'), 2);
  assert.equal(JSON.parse((await real.head('hook'))!.event).id, first.id, 'still in order');
});
