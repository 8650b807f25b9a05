import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '../base/log.ts';
import type { RegistryService } from './registry-service.ts';
import { startUploadPurger } from './upload-purger.ts';

test('the purger runs after its first delay with a cutoff of now minus the age, and stops', async () => {
  const cutoffs: Date[] = [];
  const service = { purgeUploads: async (cutoff: Date) => (cutoffs.push(cutoff), { sessions: 0, ingests: 0 }) } as unknown as RegistryService;
  const purger = startUploadPurger(service, { ageSeconds: 3600, intervalSeconds: 3600, logger: createLogger({ level: 'silent' }), firstDelayMs: 5 });
  await sleep(50);
  purger.stop();
  assert.equal(cutoffs.length, 1);
  const age = Date.now() - cutoffs[0].getTime();
  assert.ok(age >= 3600_000 && age < 3600_000 + 5000, `cutoff ${age} ms ago`);
});

test('a failing purge is logged and the purger keeps its schedule', async () => {
  let calls = 0;
  const service = { purgeUploads: async () => { calls++; throw new Error('disk gone'); } } as unknown as RegistryService;
  const purger = startUploadPurger(service, { ageSeconds: 1, intervalSeconds: 3600, logger: createLogger({ level: 'silent' }), firstDelayMs: 1 });
  await sleep(30);
  purger.stop();
  assert.equal(calls, 1);
});
