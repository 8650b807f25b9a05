import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { pino } from 'pino';
import { configSchema } from '../../base/config.ts';
import { openDatabase } from '../../meta/sqlite-database.ts';
import { EndpointSender, httpPost, type PostEnvelope } from './endpoint-sender.ts';
import { type EndpointSettings, endpointSettings } from './endpoint-settings.ts';
import { eventsMediaType } from './notification-event.ts';
import type { Claim, NotificationQueue } from './notification-queue.ts';
import { SqliteNotificationQueue } from './sqlite-notification-queue.ts';

const logger = pino({ level: 'silent' });

function settings(overrides: Record<string, unknown> = {}): EndpointSettings {
  const config = configSchema.parse({ registry: { notifications: { endpoints: [{ name: 'hook', url: 'http://127.0.0.1:9/', ...overrides }] } } });
  return endpointSettings(config.registry.notifications.endpoints[0]);
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

test('delivers in order, retrying a failing event before the next, removing only what was accepted', async () => {
  const queue = new SqliteNotificationQueue(openDatabase(':memory:'));
  for (const e of ['"a"', '"b"', '"c"']) await queue.append([{ event: e, endpoints: ['hook'] }]);
  const attempts: string[] = [];
  let failuresLeft = 3;
  const post: PostEnvelope = async (_settings, body) => {
    attempts.push(JSON.parse(body).events[0]);
    if (failuresLeft-- > 0) return failuresLeft % 2 ? 500 : Promise.reject(new Error('connect ECONNREFUSED'));
    return 202;
  };
  const sender = new EndpointSender({ settings: settings({ threshold: 2, backoff: '20ms' }), queue, logger, post });
  await until('three deliveries', async () => (await queue.count('hook')) === 0);
  await sender.stop();
  assert.deepEqual(attempts, ['a', 'a', 'a', 'a', 'b', 'c']);
  assert.equal(sender.queued, 0);
});

test('after threshold failures in a row it waits backoff between attempts', async () => {
  const queue = new SqliteNotificationQueue(openDatabase(':memory:'));
  await queue.append([{ event: '"x"', endpoints: ['hook'] }]);
  const times: number[] = [];
  const post: PostEnvelope = async () => {
    times.push(Date.now());
    return times.length < 5 ? 503 : 200;
  };
  const sender = new EndpointSender({ settings: settings({ threshold: 2, backoff: '100ms' }), queue, logger, post });
  await until('delivery', async () => (await queue.count('hook')) === 0);
  await sender.stop();
  const gaps = times.slice(1).map((t, i) => t - times[i]);
  assert.ok(gaps[0] < 50, `the first retry is immediate (${gaps[0]} ms)`);
  for (const gap of gaps.slice(1)) assert.ok(gap >= 95, `then backoff: ${gaps.join(', ')}`);
});

test('stop aborts a POST in flight and leaves the event queued; appended events wake an idle sender', async () => {
  const queue = new SqliteNotificationQueue(openDatabase(':memory:'));
  let calls = 0;
  const post: PostEnvelope = (_s, _b, signal) => {
    calls++;
    return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
  };
  const sender = new EndpointSender({ settings: settings(), queue, logger, post });
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(calls, 0, 'an empty queue sends nothing');
  await queue.append([{ event: '"late"', endpoints: ['hook'] }]);
  sender.appended();
  await until('the POST', () => calls === 1);
  await sender.stop();
  assert.equal(await queue.count('hook'), 1);
  assert.equal((await queue.head('hook'))?.event, '"late"');
});

test('the HTTP POST: envelope, media type, configured headers, timeout', async (t) => {
  const seen: { headers: Record<string, unknown>; body: string }[] = [];
  let hang = true;
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      seen.push({ headers: request.headers, body });
      if (hang) return; // never answered: the sender's timeout must fire
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  const queue = new SqliteNotificationQueue(openDatabase(':memory:'));
  await queue.append([{ event: '{"id":"e1"}', endpoints: ['hook'] }]);
  const sender = new EndpointSender({
    settings: settings({ url, timeout: '100ms', threshold: 1, backoff: '50ms', headers: { Authorization: 'Bearer s3cret', 'X-Multi': ['a', 'b'] } }),
    queue,
    logger,
  });
  await until('a timed-out attempt', () => seen.length >= 1);
  hang = false;
  await until('delivery', async () => (await queue.count('hook')) === 0);
  await sender.stop();
  const last = seen[seen.length - 1];
  assert.equal(last.headers['content-type'], eventsMediaType);
  assert.equal(last.headers.authorization, 'Bearer s3cret');
  assert.equal(last.headers['x-multi'], 'a, b');
  assert.deepEqual(JSON.parse(last.body), { events: [{ id: 'e1' }] });
});

test('a database error is logged and retried after backoff, never an unhandled rejection; removals are batched', async (t) => {
  const real = new SqliteNotificationQueue(openDatabase(':memory:'));
  for (const e of ['"a"', '"b"', '"c"']) await real.append([{ event: e, endpoints: ['hook'] }]);
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  t.after(() => process.off('unhandledRejection', onUnhandled));
  let busy = 2;
  const removals: number[] = [];
  const queue: NotificationQueue = {
    append: (entries) => real.append(entries),
    head: async (endpoint, after) => {
      if (busy-- > 0) throw Object.assign(new Error('database is locked'), { code: 'ERR_SQLITE_ERROR', errcode: 5 });
      return real.head(endpoint, after);
    },
    removeThrough: async (endpoint, seq) => {
      removals.push(seq);
      await real.removeThrough(endpoint, seq);
    },
    count: (endpoint) => real.count(endpoint),
    endpointsQueued: () => real.endpointsQueued(),
    claim: (endpoint) => real.claim(endpoint),
    shared: false,
  };
  const lines: string[] = [];
  const recording = pino({ level: 'debug' }, { write: (line: string) => lines.push(line) });
  const delivered: string[] = [];
  const post: PostEnvelope = async (_s, body) => (delivered.push(JSON.parse(body).events[0]), 202);
  const sender = new EndpointSender({ settings: settings({ backoff: '20ms' }), queue, logger: recording, post });
  await until('three deliveries', async () => (await real.count('hook')) === 0);
  await sender.stop();
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(unhandled, []);
  assert.deepEqual(delivered, ['a', 'b', 'c']);
  assert.equal(removals.length, 1, `one removal for the three events: ${removals.join(', ')}`);
  assert.ok(lines.some((line) => line.includes('database is locked')), 'the error is logged');
});

test('a URL with userinfo is delivered with Basic auth, and the password is never logged', async (t) => {
  const seen: { url: string | undefined; authorization: string | undefined }[] = [];
  const server = createServer((request, response) => {
    seen.push({ url: request.url, authorization: request.headers.authorization });
    request.resume();
    request.on('end', () => response.writeHead(seen.length === 1 ? 500 : 200).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const port = (server.address() as AddressInfo).port;
  const lines: string[] = [];
  const recording = pino({ level: 'debug' }, { write: (line: string) => lines.push(line) });
  const queue = new SqliteNotificationQueue(openDatabase(':memory:'));
  await queue.append([{ event: '{"id":"e1"}', endpoints: ['hook'] }]);
  const hook = settings({ url: `http://us%40er:s3cret@127.0.0.1:${port}/hook?x=1`, threshold: 5, backoff: '10ms' });
  assert.equal(hook.url, `http://127.0.0.1:${port}/hook?x=1`);
  const sender = new EndpointSender({ settings: hook, queue, logger: recording, post: (s, body, signal) => httpPost(s, body, signal) });
  await until('delivery', async () => (await queue.count('hook')) === 0);
  await sender.stop();
  assert.equal(seen[1].url, '/hook?x=1');
  assert.equal(seen[1].authorization, `Basic ${Buffer.from('us@er:s3cret').toString('base64')}`);
  assert.ok(lines.length > 0, 'the failed first attempt was logged');
  assert.ok(!lines.some((line) => line.includes('s3cret')), lines.join('\n'));
  // A failure that quotes the URL (undici's own refusal of userinfo) is redacted too.
  const failing = new EndpointSender({ settings: { ...hook, url: `http://user:s3cret@127.0.0.1:${port}/` }, queue, logger: recording });
  await queue.append([{ event: '{"id":"e2"}', endpoints: ['hook'] }]);
  failing.appended();
  await until('a logged failure', () => lines.some((line) => line.includes('not delivered')) && lines.length > 2);
  await failing.stop();
  assert.ok(!lines.some((line) => line.includes('s3cret')), lines.join('\n'));
});

test('an endpoint header value with CR or LF is refused when the settings are built', () => {
  assert.throws(() => settings({ headers: { 'X-Token': 'a\r\nX-Evil: 1' } }), /header X-Token has a CR, LF or NUL/);
});

test('a claim found lost stops deliveries until the endpoint is claimed again', async () => {
  const real = new SqliteNotificationQueue(openDatabase(':memory:'));
  // Another replica holding the endpoint, as PgAdvisoryLocks reports it after a reconnect found the lock taken.
  let lost = false;
  let otherHolds = false;
  let current: Claim | undefined;
  const queue: NotificationQueue = {
    append: (entries) => real.append(entries),
    head: (endpoint, after) => real.head(endpoint, after),
    removeThrough: (endpoint, seq) => real.removeThrough(endpoint, seq),
    count: (endpoint) => real.count(endpoint),
    endpointsQueued: () => real.endpointsQueued(),
    claim: async (endpoint) => {
      if (otherHolds) return undefined;
      const inner = await real.claim(endpoint);
      if (!inner) return undefined;
      current = inner;
      return {
        release: () => inner.release(),
        get held() {
          return inner.held && !lost;
        },
      };
    },
    shared: true,
  };
  const delivered: string[] = [];
  const lines: string[] = [];
  const recording = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });
  const post: PostEnvelope = async (_s, body) => (delivered.push(JSON.parse(body).events[0]), 202);
  const sender = new EndpointSender({ settings: settings(), queue, logger: recording, post, pollMs: 20 });
  await queue.append([{ event: '"a"', endpoints: ['hook'] }]);
  sender.appended();
  await until('the first delivery', () => delivered.length === 1);
  // Lost as PostgreSQL loses it: gone from under the holder, without a release.
  lost = true;
  otherHolds = true;
  await current?.release();
  await queue.append([{ event: '"b"', endpoints: ['hook'] }]);
  sender.appended();
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.deepEqual(delivered, ['a'], 'no delivery without the claim');
  assert.ok(lines.some((line) => line.includes('notification claim lost')), lines.join('\n'));
  lost = false;
  otherHolds = false;
  await until('the second delivery once claimed again', () => delivered.length === 2);
  await sender.stop();
  assert.deepEqual(delivered, ['a', 'b']);
});
