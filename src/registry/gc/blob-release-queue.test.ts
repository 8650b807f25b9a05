import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '../../base/log.ts';
import { BlobReleaseQueue } from './blob-release-queue.ts';
import type { ReleaseResult } from './garbage-collector.ts';

/** A collector that answers `recent` for the digests named there; with `gated`, each release waits for `step()`. */
function fakeCollector(recent: Set<string>, gated = false) {
  const batches: string[][] = [];
  let gate = Promise.withResolvers<void>();
  return {
    batches,
    step: () => {
      gate.resolve();
      gate = Promise.withResolvers<void>();
    },
    collector: {
      release: async (digests: Iterable<string>): Promise<ReleaseResult> => {
        const batch = [...digests];
        batches.push(batch);
        if (gated) await gate.promise;
        return { blobs: 0, bytes: 0, recent: batch.filter((d) => recent.has(d)) };
      },
    },
  };
}

const logger = createLogger({ level: 'silent' });

test('releases run one at a time; what is asked for meanwhile joins one next run', async () => {
  const fake = fakeCollector(new Set(), true);
  const queue = new BlobReleaseQueue({ collector: fake.collector, graceSeconds: 3600, logger });
  const first = queue.release(['sha256:a']);
  await sleep(10);
  const second = queue.release(['sha256:b']);
  const third = queue.release(['sha256:c', 'sha256:b']);
  assert.equal(second, third);
  fake.step();
  await first;
  await sleep(10);
  fake.step();
  await third;
  assert.deepEqual(fake.batches, [['sha256:a'], ['sha256:b', 'sha256:c']]);
  await queue.close();
});

test('a candidate kept as recently used is released once more after the grace period, and only once', async () => {
  const fake = fakeCollector(new Set(['sha256:r']));
  const queue = new BlobReleaseQueue({ collector: fake.collector, graceSeconds: 0, logger });
  try {
    await queue.release(['sha256:r', 'sha256:x']);
    await sleep(2500);
    assert.deepEqual(fake.batches, [['sha256:r', 'sha256:x'], ['sha256:r']]);
  } finally {
    await queue.close();
  }
});

test('close drops a pending retry', async () => {
  const fake = fakeCollector(new Set(['sha256:r']));
  const queue = new BlobReleaseQueue({ collector: fake.collector, graceSeconds: 0, logger });
  await queue.release(['sha256:r']);
  await queue.close();
  await sleep(1200);
  assert.deepEqual(fake.batches, [['sha256:r']]);
});
