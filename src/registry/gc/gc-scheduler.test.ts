import assert from 'node:assert/strict';
import { test } from 'node:test';
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
