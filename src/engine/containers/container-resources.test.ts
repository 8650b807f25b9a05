import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ContainerRecord } from './container-record.ts';
import { acquireAll, releaseAll, type ContainerResource } from './container-resources.ts';

const record = { id: 'c1' } as ContainerRecord;

function recording(log: string[], name: string, failAcquire = false): ContainerResource {
  return {
    name,
    acquire: async (r) => {
      log.push(`acquire ${name} ${r.id}`);
      if (failAcquire) throw new Error(`${name} failed`);
    },
    release: async (r) => {
      log.push(`release ${name} ${r.id}`);
    },
  };
}

test('resources are acquired in order and released in reverse order', async () => {
  const log: string[] = [];
  const resources = [recording(log, 'a'), recording(log, 'b'), recording(log, 'c')];
  await acquireAll(resources, record);
  await releaseAll(resources, record);
  assert.deepEqual(log, ['acquire a c1', 'acquire b c1', 'acquire c c1', 'release c c1', 'release b c1', 'release a c1']);
});

test('a failed acquire releases it and the ones before it, in reverse, and never acquires the rest', async () => {
  const log: string[] = [];
  const resources = [recording(log, 'a'), recording(log, 'b', true), recording(log, 'c')];
  await assert.rejects(acquireAll(resources, record), /b failed/);
  assert.deepEqual(log, ['acquire a c1', 'acquire b c1', 'release b c1', 'release a c1']);
});
