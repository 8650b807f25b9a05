import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { collectWhenIdle } from './idle-collector.ts';

test('collects once after a busy window is followed by a quiet one, never while busy or when always idle', async () => {
  let collections = 0;
  const idle = collectWhenIdle({ intervalMs: 40, collect: async () => void collections++ });
  try {
    await sleep(130);
    assert.equal(collections, 0, 'never busy: nothing to give back');
    const busyUntil = Date.now() + 150;
    while (Date.now() < busyUntil) {
      idle.touch();
      await sleep(10);
    }
    assert.equal(collections, 0, 'not while requests come');
    await sleep(200);
    assert.equal(collections, 1, 'once after the burst');
  } finally {
    idle.stop();
  }
});
