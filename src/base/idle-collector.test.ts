import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { collectWhenIdle } from './idle-collector.ts';

test('collects once after a busy window is followed by a quiet one, never while busy or when always idle', async () => {
  let collections = 0;
  const idle = collectWhenIdle({ intervalMs: 40, quietCount: 1, minGapMs: 0, collect: async () => void collections++ });
  try {
    await sleep(130);
    assert.equal(collections, 0, 'never busy: nothing to give back');
    const busyUntil = Date.now() + 150;
    while (Date.now() < busyUntil) {
      // Several per turn: after a stall of the loaded event loop, one sleep's touches still outnumber a quiet window's.
      for (let i = 0; i < 5; i++) idle.touch();
      await sleep(10);
    }
    assert.equal(collections, 0, 'not while requests come');
    await sleep(200);
    assert.equal(collections, 1, 'once after the burst');
  } finally {
    idle.stop();
  }
});

test('a trickle of requests after a burst is quiet enough to collect; collections keep their minimum gap', async () => {
  let collections = 0;
  const idle = collectWhenIdle({ intervalMs: 40, quietCount: 2, minGapMs: 1000, collect: async () => void collections++ });
  try {
    const burst = async () => {
      const until = Date.now() + 120;
      while (Date.now() < until) {
        for (let i = 0; i < 5; i++) idle.touch();
        await sleep(5);
      }
    };
    await burst();
    // An upload's few requests: one response per window at most.
    for (let i = 0; i < 4; i++) {
      idle.touch();
      await sleep(45);
    }
    assert.equal(collections, 1, 'collected while the trickle went on');
    await burst();
    await sleep(200);
    assert.equal(collections, 1, 'a second burst within the minimum gap waits');
  } finally {
    idle.stop();
  }
});
