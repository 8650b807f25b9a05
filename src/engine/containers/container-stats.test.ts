import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Readable } from 'node:stream';
import { emptyCpuStats, statsV1 } from './cgroup-stats.ts';
import { hostIfname } from './container-networking.ts';
import type { ContainerRecord } from './container-record.ts';
import { containerStats, parseProcStat, statsJson, withHost, type StatsSources } from './container-stats.ts';
import type { DaemonContext } from './daemon-context.ts';

const id = 'a'.repeat(64);
const networkId = 'n'.repeat(64);
const dir = mkdtempSync(join(tmpdir(), 'wharf-stats-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const procStat = 'cpu  100 0 50 1000 10 0 5 7 0 0\ncpu0 50 0 25 500 5 0 2 3 0 0\ncpu1 50 0 25 500 5 0 3 4 0 0\nintr 1\n';
writeFileSync(join(dir, 'stat'), procStat);
const veth = join(dir, 'net', hostIfname(id, networkId), 'statistics');
mkdirSync(veth, { recursive: true });
for (const [name, value] of Object.entries({ rx_bytes: 100, rx_packets: 2, tx_bytes: 900, tx_packets: 9, rx_errors: 0, tx_errors: 0, rx_dropped: 1, tx_dropped: 0 })) {
  writeFileSync(join(veth, name), `${value}\n`);
}
const sources: StatsSources = { procStat: join(dir, 'stat'), netClass: join(dir, 'net'), machineMemory: () => 1000 };

function fakeContext(running: boolean, samples: { total: number }[]) {
  const record = {
    id,
    name: '/web',
    state: { Running: running, Restarting: false },
    networks: { bridge: { NetworkID: networkId, InterfaceName: 'eth0' } },
  } as unknown as ContainerRecord;
  const calls = { stats: 0 };
  let exists = true;
  const ctx = {
    deps: {
      store: { resolve: () => record, get: () => (exists ? record : undefined) },
      runtime: {
        stats: async () => {
          const sample = samples[Math.min(calls.stats++, samples.length - 1)];
          const stats = statsV1({ cpuacctUsage: String(sample.total), memoryUsage: '10', memoryLimit: '9223372036854771712', blkio: {} });
          return stats;
        },
      },
    },
  } as unknown as DaemonContext;
  return { ctx, calls, remove: () => (exists = false) };
}

async function lines(stream: Readable, count: number): Promise<Record<string, any>[]> {
  const out: Record<string, any>[] = [];
  let buffered = '';
  for await (const chunk of stream) {
    buffered += chunk;
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    out.push(...parts.map((p) => JSON.parse(p)));
    if (out.length >= count) break;
  }
  return out;
}

test('/proc/stat gives the system CPU time in ns (first seven fields) and the online CPUs', () => {
  assert.deepEqual(parseProcStat(procStat), { systemUsage: ((100 + 50 + 1000 + 10 + 5) * 1e9) / 100, onlineCpus: 2 });
  assert.throws(() => parseProcStat('cpu 1 2\n'), /invalid number of cpu fields/);
});

test('an unlimited memory limit shows the machine memory, and the host CPU fields join the cgroup ones', () => {
  const cgroup = statsV1({ memoryUsage: '5', memoryLimit: '9223372036854771712', blkio: {} });
  const sample = withHost(cgroup, { systemUsage: 42, onlineCpus: 2 }, 1000, { read: 'now', networks: {} });
  assert.equal(sample.memory_stats.limit, 1000);
  assert.equal(sample.cpu_stats.system_cpu_usage, 42);
  assert.equal(sample.cpu_stats.online_cpus, 2);
});

test('without a sample the object is moby’s empty one: zero times, null blkio lists, empty maps', () => {
  const json = statsJson({ id, name: '/web' }, undefined, { read: '0001-01-01T00:00:00Z', cpu: emptyCpuStats() });
  assert.deepEqual(Object.keys(json), ['read', 'preread', 'pids_stats', 'blkio_stats', 'num_procs', 'storage_stats', 'cpu_stats', 'precpu_stats', 'memory_stats', 'name', 'id']);
  assert.equal(json.read, '0001-01-01T00:00:00Z');
  assert.equal(json.blkio_stats.io_service_bytes_recursive, null);
  assert.deepEqual(json.memory_stats, {});
  assert.deepEqual(json.cpu_stats, { cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 }, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } });
});

test('stream=false primes with one sample and answers the second, with the first as precpu', async () => {
  const { ctx, calls } = fakeContext(true, [{ total: 100 }, { total: 300 }]);
  const [json] = await lines(containerStats(ctx, 'web', { stream: false, oneShot: false, intervalMs: 10 }, sources), 1);
  assert.equal(calls.stats, 2);
  assert.equal(json.cpu_stats.cpu_usage.total_usage, 300);
  assert.equal(json.precpu_stats.cpu_usage.total_usage, 100);
  assert.notEqual(json.preread, '0001-01-01T00:00:00Z');
  assert.deepEqual(json.networks, {
    eth0: { rx_bytes: 900, rx_packets: 9, rx_errors: 0, rx_dropped: 0, tx_bytes: 100, tx_packets: 2, tx_errors: 0, tx_dropped: 1 },
  }, 'the host end of the veth counts the other way round');
  assert.equal(json.memory_stats.limit, 1000);
});

test('one-shot answers a single sample with empty precpu', async () => {
  const { ctx, calls } = fakeContext(true, [{ total: 100 }]);
  const [json] = await lines(containerStats(ctx, 'web', { stream: false, oneShot: true, intervalMs: 10 }, sources), 1);
  assert.equal(calls.stats, 1);
  assert.equal(json.precpu_stats.cpu_usage.total_usage, 0);
  assert.equal(json.preread, '0001-01-01T00:00:00Z');
});

test('a stream samples each interval until destroyed, then stops sampling', async () => {
  const { ctx, calls } = fakeContext(true, [{ total: 1 }, { total: 2 }, { total: 3 }, { total: 4 }]);
  const stream = containerStats(ctx, 'web', { stream: true, oneShot: false, intervalMs: 20 }, sources);
  const got = await lines(stream, 3);
  assert.deepEqual(got.map((j) => j.cpu_stats.cpu_usage.total_usage), [1, 2, 3]);
  assert.deepEqual(got.map((j) => j.precpu_stats.cpu_usage.total_usage), [0, 1, 2]);
  stream.destroy();
  const seen = calls.stats;
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.ok(calls.stats <= seen + 1, `no sampling after the client left: ${calls.stats} vs ${seen}`);
});

test('a stopped container streams zeros until it is removed, then the stream ends', async () => {
  const { ctx, calls, remove } = fakeContext(false, [{ total: 1 }]);
  const stream = containerStats(ctx, 'web', { stream: true, oneShot: false, intervalMs: 10 }, sources);
  let text = '';
  stream.on('data', (chunk: Buffer) => {
    text += chunk;
    if (text.split('\n').length > 2) remove();
  });
  await new Promise((resolve, reject) => stream.on('end', resolve).on('error', reject));
  const frames = text.trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(frames.length >= 2 && frames.length <= 4, `${frames.length} frames`);
  assert.ok(frames.every((f) => f.read === '0001-01-01T00:00:00Z' && f.cpu_stats.cpu_usage.total_usage === 0));
  assert.equal(calls.stats, 0, 'nothing is read for a container that does not run');
});
