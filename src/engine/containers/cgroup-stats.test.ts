import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseBlkioV1, parseIoStatV2, readCgroupStats, statsV1, statsV2 } from './cgroup-stats.ts';
import type { CgroupHost } from './cgroups.ts';

const id = 'c'.repeat(64);
const unlimited = '9223372036854771712';

// Taken from a busybox container on a cgroup v1 host (kernel 6.x, no CFQ: the throttle files hold the bytes).
const v1Files: Record<string, Record<string, string>> = {
  cpuacct: { 'cpuacct.usage': '82504324\n', 'cpuacct.usage_percpu': '72522408 9981918 \n', 'cpuacct.stat': 'user 3\nsystem 5\n' },
  cpu: { 'cpu.stat': 'nr_periods 10\nnr_throttled 2\nthrottled_time 3000\nnr_bursts 0\nburst_time 0\n' },
  memory: {
    'memory.usage_in_bytes': '1261568\n',
    'memory.max_usage_in_bytes': '2000000\n',
    'memory.failcnt': '0\n',
    'memory.limit_in_bytes': `${unlimited}\n`,
    'memory.stat': `cache 4096\nrss 626688\nrss_huge 0\nshmem 0\nmapped_file 0\nhierarchical_memory_limit ${unlimited}\ntotal_rss 626688\nworkingset_refault_anon 0\n`,
  },
  pids: { 'pids.current': '2\n', 'pids.max': 'max\n' },
  blkio: {
    'blkio.throttle.io_service_bytes_recursive': '8:0 Read 4096\n8:0 Write 0\n8:0 Sync 0\n8:0 Async 4096\n8:0 Discard 0\n8:0 Total 4096\nTotal 4096\n',
    'blkio.throttle.io_serviced_recursive': '8:0 Read 1\n8:0 Write 0\nTotal 1\n',
  },
};

function fixtureRoot(layout: Record<string, Record<string, string>>, version: 1 | 2): { host: CgroupHost; root: string } {
  const root = mkdtempSync(join(tmpdir(), 'wharf-cgroup-'));
  for (const [controller, files] of Object.entries(layout)) {
    const dir = version === 2 ? join(root, 'wharf', id) : join(root, controller, 'wharf', id);
    mkdirSync(dir, { recursive: true });
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  }
  return { root, host: { version, root, swapAccounting: true, blkioWeight: false, cpuQuota: true, pids: true } };
}

test('v1 counters come out in moby statsV1 units and names', async () => {
  const { root, host } = fixtureRoot(v1Files, 1);
  try {
    const stats = await readCgroupStats(host, id);
    assert.ok(stats);
    assert.deepEqual(stats.cpu_stats, {
      cpu_usage: { total_usage: 82504324, percpu_usage: [72522408, 9981918], usage_in_kernelmode: 50_000_000, usage_in_usermode: 30_000_000 },
      throttling_data: { periods: 10, throttled_periods: 2, throttled_time: 3000 },
    });
    assert.equal(stats.memory_stats.usage, 1261568);
    assert.equal(stats.memory_stats.max_usage, 2000000);
    assert.equal('failcnt' in stats.memory_stats, false, 'zero is omitted, as Go omitempty does');
    assert.equal(stats.memory_stats.stats?.rss, 626688);
    assert.equal(stats.memory_stats.stats?.total_unevictable, 0, 'absent keys are zero');
    assert.equal(Object.keys(stats.memory_stats.stats ?? {}).length, 32);
    assert.deepEqual(Object.keys(stats.memory_stats.stats ?? {}), Object.keys(stats.memory_stats.stats ?? {}).sort(), 'Go sorts map keys');
    assert.deepEqual(stats.pids_stats, { current: 2 }, 'pids.max "max" is no limit');
    assert.deepEqual(stats.blkio_stats.io_service_bytes_recursive?.[0], { major: 8, minor: 0, op: 'Read', value: 4096 });
    assert.equal(stats.blkio_stats.io_service_bytes_recursive?.length, 6, 'the closing Total line is skipped');
    assert.deepEqual(stats.blkio_stats.sectors_recursive, [], 'lists moby has no data for are empty, not null');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a container whose cgroup is gone has no stats', async () => {
  const { root, host } = fixtureRoot({}, 1);
  try {
    assert.equal(await readCgroupStats(host, id), undefined);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('v2 counters come out as moby statsV2 reports them', async () => {
  const files = {
    all: {
      'cpu.stat': 'usage_usec 2000\nuser_usec 1500\nsystem_usec 500\nnr_periods 4\nnr_throttled 1\nthrottled_usec 7\n',
      'memory.current': '3000000\n',
      'memory.max': 'max\n',
      'memory.stat': 'anon 1000\nfile 2000\nworkingset_refault_file 3\n',
      'memory.events': 'low 0\nhigh 0\nmax 4\noom 2\noom_kill 1\n',
      'pids.current': '3\n',
      'pids.max': '100\n',
      'io.stat': '8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n',
    },
  };
  const { root, host } = fixtureRoot(files, 2);
  try {
    const stats = await readCgroupStats(host, id);
    assert.ok(stats);
    assert.deepEqual(stats.cpu_stats.cpu_usage, { total_usage: 2_000_000, usage_in_kernelmode: 500_000, usage_in_usermode: 1_500_000 });
    assert.deepEqual(stats.cpu_stats.throttling_data, { periods: 4, throttled_periods: 1, throttled_time: 7000 });
    assert.equal(stats.memory_stats.usage, 3000000);
    assert.equal(stats.memory_stats.failcnt, 2, 'the oom events');
    assert.equal(stats.memory_stats.max_usage, undefined, 'v2 has no max usage');
    assert.equal(stats.memory_stats.stats?.workingset_refault, 3);
    assert.deepEqual(stats.pids_stats, { current: 3, limit: 100 });
    assert.deepEqual(stats.blkio_stats.io_service_bytes_recursive, [
      { major: 8, minor: 0, op: 'read', value: 4096 },
      { major: 8, minor: 0, op: 'write', value: 8192 },
    ]);
    assert.equal(stats.blkio_stats.io_serviced_recursive, null);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('blkio parsers keep devices and ops and skip what is not an entry', () => {
  assert.deepEqual(parseBlkioV1('253:1 Write 10\nTotal 10\n\n'), [{ major: 253, minor: 1, op: 'Write', value: 10 }]);
  assert.deepEqual(parseBlkioV1('8:0 1234\n'), [{ major: 8, minor: 0, op: '', value: 1234 }], 'sectors have no op');
  assert.deepEqual(parseIoStatV2(''), []);
  assert.equal(statsV2({}).blkio_stats.io_service_bytes_recursive, null, 'no device: null as moby leaves it');
  assert.deepEqual(statsV1({ blkio: {} }).memory_stats.stats?.cache, 0);
});
