import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isFault } from '../base/fault.ts';
import { ExclusiveCollector } from './exclusive-collector.ts';

const result = { manifests: 0, blobs: 1, bytes: 2, kept: 0, recovered: 0 };

function lock() {
  let held = false;
  return {
    get held() {
      return held;
    },
    tryLock: async () => {
      if (held) return undefined;
      held = true;
      return async () => {
        held = false;
      };
    },
  };
}

test('collects while holding the lock and gives it back, also when the collection fails', async () => {
  const gc = lock();
  let sawHeld = false;
  const ok = new ExclusiveCollector({ collect: async () => ((sawHeld = gc.held), result) }, gc);
  assert.deepEqual(await ok.collect({ graceSeconds: 0 }), result);
  assert.ok(sawHeld);
  assert.equal(gc.held, false);
  const failing = new ExclusiveCollector({ collect: async () => { throw new Error('disk gone'); } }, gc);
  await assert.rejects(failing.collect({ graceSeconds: 0 }), /disk gone/);
  assert.equal(gc.held, false);
});

test('a turn that finds the lock taken fails with a conflict and collects nothing', async () => {
  const gc = lock();
  const release = await gc.tryLock();
  let ran = false;
  const collector = new ExclusiveCollector({ collect: async () => ((ran = true), result) }, gc);
  await assert.rejects(collector.collect({ graceSeconds: 0 }), (err) => isFault(err, 'conflict'));
  assert.equal(ran, false);
  await release?.();
});
