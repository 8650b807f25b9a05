import assert from 'node:assert/strict';
import { test } from 'node:test';
import { adaptCgroupOptions, type CgroupOptions } from './resource-checks.ts';

const all = { swappiness: true, blkioWeightDevice: true, blkioThrottle: true };

test('swappiness -1 is unset, 0..100 kept, anything else refused with moby\'s words', () => {
  const unset: CgroupOptions = { MemorySwappiness: -1 };
  assert.deepEqual(adaptCgroupOptions(unset, all), []);
  assert.equal(unset.MemorySwappiness, null);
  const kept: CgroupOptions = { MemorySwappiness: 0 };
  adaptCgroupOptions(kept, all);
  assert.equal(kept.MemorySwappiness, 0);
  assert.throws(() => adaptCgroupOptions({ MemorySwappiness: 101 }, all), /^Fault: Invalid value: 101, valid memory swappiness range is 0-100$/);
});

test('what the host cannot enforce is discarded with moby\'s warning', () => {
  const host: CgroupOptions = { MemorySwappiness: 200, BlkioWeightDevice: [{ Path: '/dev/vda', Weight: 100 }], BlkioDeviceReadBps: [{ Path: '/dev/vda', Rate: 1 }] };
  assert.deepEqual(adaptCgroupOptions(host, {}), [
    'Your kernel does not support memory swappiness capabilities or the cgroup is not mounted. Memory swappiness discarded.',
    'Your kernel does not support Block I/O weight_device or the cgroup is not mounted. Weight-device discarded.',
    'Your kernel does not support BPS Block I/O read limit or the cgroup is not mounted. Block I/O BPS read limit discarded.',
  ]);
  assert.deepEqual(host, { MemorySwappiness: null, BlkioWeightDevice: [], BlkioDeviceReadBps: [] });
});
