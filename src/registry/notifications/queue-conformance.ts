import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { configSchema } from '../../base/config.ts';
import { EndpointSender, type PostEnvelope } from './endpoint-sender.ts';
import { endpointSettings } from './endpoint-settings.ts';
import type { NotificationQueue } from './notification-queue.ts';

/** A fresh queue; `reopen` gives another handle on the same database (a restart, or on a shared queue a replica). */
export interface QueueFixture {
  queue: NotificationQueue;
  reopen(): Promise<NotificationQueue>;
  close(): Promise<void>;
}

const logger = pino({ level: 'silent' });
const hook = (overrides: Record<string, unknown> = {}) =>
  endpointSettings(configSchema.parse({ registry: { notifications: { endpoints: [{ name: 'hook', url: 'http://127.0.0.1:9/', ...overrides }] } } }).registry.notifications.endpoints[0]);

async function until(what: string, check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** What every NotificationQueue must do, run over SQLite and PostgreSQL. */
export function describeNotificationQueue(name: string, open: () => Promise<QueueFixture>): void {
  describe(`NotificationQueue conformance: ${name}`, () => {
    test('events come back per endpoint in the order appended, until removed', async (t) => {
      const { queue, close } = await open();
      t.after(close);
      await queue.append([{ event: 'e1', endpoints: ['a', 'b'] }]);
      await queue.append([{ event: 'e2', endpoints: ['a'] }, { event: 'e3', endpoints: ['b'] }]);
      await queue.append([{ event: 'none', endpoints: [] }]);
      assert.equal(await queue.count('a'), 2);
      assert.equal(await queue.count('b'), 2);
      const first = await queue.head('a');
      assert.equal(first?.event, 'e1');
      assert.equal((await queue.head('a', first!.seq))?.event, 'e2', 'head after a seq skips what is acknowledged');
      await queue.removeThrough('a', first!.seq);
      assert.equal((await queue.head('a'))?.event, 'e2');
      assert.equal((await queue.head('b'))?.event, 'e1', 'removing a\'s copy leaves b\'s');
      assert.deepEqual(await queue.endpointsQueued(), ['a', 'b']);
      await queue.removeThrough('a', (await queue.head('a'))!.seq);
      assert.equal(await queue.head('a'), undefined);
      assert.equal(await queue.count('b'), 2, 'removeThrough keeps other endpoints\' events');
      assert.deepEqual(await queue.endpointsQueued(), ['b']);
    });

    test('seqs grow and are never reused after a removal', async (t) => {
      const { queue, close } = await open();
      t.after(close);
      await queue.append([{ event: 'x', endpoints: ['a'] }]);
      const one = (await queue.head('a'))!;
      await queue.removeThrough('a', one.seq);
      await queue.append([{ event: 'y', endpoints: ['a'] }, { event: 'z', endpoints: ['a'] }]);
      const two = (await queue.head('a'))!;
      const three = (await queue.head('a', two.seq))!;
      assert.ok(two.seq > one.seq && three.seq > two.seq, `${one.seq} < ${two.seq} < ${three.seq}`);
      assert.deepEqual([two.event, three.event], ['y', 'z']);
    });

    test('what was appended is there after a restart', async (t) => {
      const { queue, reopen, close } = await open();
      t.after(close);
      for (let i = 0; i < 5; i++) await queue.append([{ event: `e${i}`, endpoints: ['hook'] }]);
      await queue.removeThrough('hook', (await queue.head('hook'))!.seq);
      const again = await reopen();
      assert.equal(await again.count('hook'), 4);
      assert.equal((await again.head('hook'))?.event, 'e1');
    });

    test('one claim per endpoint at a time; released, it can be taken again', async (t) => {
      const { queue, reopen, close } = await open();
      t.after(close);
      const claim = await queue.claim('hook');
      assert.ok(claim?.held);
      assert.equal(await queue.claim('hook'), undefined);
      const other = await queue.claim('other');
      assert.ok(other, 'claims are per endpoint');
      if (queue.shared) assert.equal(await (await reopen()).claim('hook'), undefined, 'another replica waits too');
      await claim.release();
      await claim.release();
      assert.equal(claim.held, false);
      const again = await queue.claim('hook');
      assert.ok(again?.held);
      await again.release();
      await other.release();
    });

    test('concurrent appends (from two handles where shared) reach a reader in order, none skipped', async (t) => {
      const { queue, reopen, close } = await open();
      t.after(close);
      const second = queue.shared ? await reopen() : queue;
      const seen: string[] = [];
      let acked = 0;
      let done = false;
      const reader = (async () => {
        while (!done || (await queue.head('hook', acked))) {
          const head = await queue.head('hook', acked);
          if (!head) continue;
          seen.push(head.event);
          acked = head.seq;
          await queue.removeThrough('hook', acked);
        }
      })();
      await Promise.all([queue, second].map((q, n) => Promise.all(Array.from({ length: 40 }, (_, i) => q.append([{ event: `${n}-${i}`, endpoints: ['hook'] }])))));
      done = true;
      await reader;
      assert.equal(seen.length, 80, 'every event read once');
      assert.equal(new Set(seen).size, 80);
      assert.equal(await queue.count('hook'), 0);
    });

    test('senders on one endpoint: at-least-once through failures, never two deliveries at once, in order', async (t) => {
      const { queue, reopen, close } = await open();
      t.after(close);
      const second = queue.shared ? await reopen() : queue;
      for (let i = 0; i < 20; i++) await queue.append([{ event: JSON.stringify({ id: `e${i}` }), endpoints: ['hook'] }]);
      let inFlight = 0;
      let overlaps = 0;
      let failures = 3;
      const delivered: string[] = [];
      const post: PostEnvelope = async (_settings, body) => {
        inFlight++;
        if (inFlight > 1) overlaps++;
        await new Promise((resolve) => setTimeout(resolve, 2));
        inFlight--;
        if (failures-- > 0) return 503;
        delivered.push(JSON.parse(body).events[0].id);
        return 202;
      };
      const settings = hook({ threshold: 2, backoff: '20ms' });
      const senders = [queue, second].map((q) => new EndpointSender({ settings, queue: q, logger, post, pollMs: 20 }));
      t.after(() => Promise.all(senders.map((s) => s.stop())));
      await until('the queue to drain', async () => (await queue.count('hook')) === 0);
      assert.equal(overlaps, 0, 'one sender delivers at a time');
      assert.deepEqual(delivered, Array.from({ length: 20 }, (_, i) => `e${i}`), 'each once, in order');
      // The holder stops: the other sender takes over what is appended next.
      await senders[0].stop();
      await second.append([{ event: JSON.stringify({ id: 'after' }), endpoints: ['hook'] }]);
      senders[1].appended();
      await until('the other sender to deliver', async () => delivered.includes('after'));
    });
  });
}
