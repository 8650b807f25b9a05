import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { createLogger } from '../../base/log.ts';
import { pushBlob, pushImage } from '../v2/test-registry.ts';
import { graceSeconds, startGcFixture } from './gc-fixture.ts';
import { startGcScheduler } from './gc-scheduler.ts';

test('the schedule collects every interval until stopped', async () => {
  const t = await startGcFixture();
  const scheduler = startGcScheduler(t.collector, { intervalSeconds: 1, gracePeriodSeconds: graceSeconds, deleteUntagged: false, logger: createLogger({ level: 'silent' }) });
  try {
    const image = await pushImage(t.app, 'r', 'v1');
    const stray = await pushBlob(t.app, 'r', 'stray');
    await t.age();
    const deadline = Date.now() + 10_000;
    while ((await t.present()).includes(stray.digest) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(await t.present(), [image.digest, image.config.digest, image.layer.digest].sort());
  } finally {
    scheduler.stop();
    await t.close();
  }
});

test('beforeCollect runs before each collection; its failure is logged and the collection still runs', async () => {
  const calls: string[] = [];
  let failNext = true;
  const collector = {
    collect: async () => {
      calls.push('collect');
      return { manifests: 0, blobs: 0, bytes: 0, kept: 0, recovered: 0 };
    },
  };
  const beforeCollect = async () => {
    calls.push('before');
    if (failNext) {
      failNext = false;
      throw new Error('database is locked');
    }
  };
  const lines: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });
  const scheduler = startGcScheduler(collector, { intervalSeconds: 0.02, gracePeriodSeconds: 0, deleteUntagged: false, logger, beforeCollect });
  try {
    const deadline = Date.now() + 5000;
    while (calls.length < 4 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  } finally {
    scheduler.stop();
  }
  assert.deepEqual(calls.slice(0, 4), ['before', 'collect', 'before', 'collect']);
  assert.ok(lines.some((line) => line.includes('retention failed') && line.includes('database is locked')), lines.join('\n'));
});
