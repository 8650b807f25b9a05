import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Fault } from '../../base/fault.ts';
import type { ContainerRecord, HostConfig } from './container-record.ts';
import { liveResources, update, type UpdateRequest } from './container-update.ts';
import type { DaemonContext } from './daemon-context.ts';
import type { ResourceSupport } from './runtime.ts';

const id = 'b'.repeat(64);
const allSupported: ResourceSupport = { swapLimit: true, blkioWeight: true, cpuQuota: true, pidsLimit: true };

function request(fields: Partial<UpdateRequest> = {}): UpdateRequest {
  return {
    Memory: 0, MemorySwap: 0, MemoryReservation: 0, KernelMemory: 0, NanoCpus: 0, CpuShares: 0, CpuPeriod: 0, CpuQuota: 0,
    CpusetCpus: '', CpusetMems: '', PidsLimit: null, BlkioWeight: 0, RestartPolicy: { Name: '', MaximumRetryCount: 0 }, unsupported: [],
    ...fields,
  };
}

function fixture(options: { running?: boolean; host?: Partial<HostConfig>; support?: ResourceSupport; runtimeError?: Error } = {}) {
  const record = {
    id,
    name: '/web',
    state: { Running: options.running ?? true, Restarting: false, Dead: false },
    hostConfig: { Memory: 0, MemorySwap: 0, NanoCpus: 0, CpuPeriod: 0, CpuQuota: 0, CpuShares: 0, PidsLimit: null, BlkioWeight: 0, AutoRemove: false, RestartPolicy: { Name: 'no', MaximumRetryCount: 0 }, ...options.host },
  } as unknown as ContainerRecord;
  const applied: Record<string, unknown>[] = [];
  const saved: HostConfig[] = [];
  const events: string[] = [];
  const ctx = {
    deps: {
      store: { resolve: () => record, save: (r: ContainerRecord) => saved.push(structuredClone(r.hostConfig)) },
      runtime: {
        support: options.support ?? allSupported,
        update: async (_id: string, resources: Record<string, unknown>) => {
          if (options.runtimeError) throw options.runtimeError;
          applied.push(resources);
        },
      },
    },
    live: new Map(),
    withLock: (_id: string, work: () => Promise<unknown>) => work(),
    event: (_r: ContainerRecord, action: string) => events.push(action),
  } as unknown as DaemonContext;
  return { ctx, record, applied, saved, events };
}

test('a running container gets the request live and the record keeps the merge', async () => {
  const f = fixture({ host: { Memory: 64 * 2 ** 20, CpuShares: 256 } });
  const reply = await update(f.ctx, 'web', request({ Memory: 100 * 2 ** 20, MemorySwap: 200 * 2 ** 20, NanoCpus: 5e8, PidsLimit: 0 }));
  assert.deepEqual(reply, { Warnings: null });
  assert.equal(f.record.hostConfig.Memory, 100 * 2 ** 20);
  assert.equal(f.record.hostConfig.CpuShares, 256, 'zero leaves a value as it was');
  assert.equal(f.record.hostConfig.PidsLimit, 0);
  assert.deepEqual(f.applied[0], {
    blockIO: { weight: 0 },
    cpu: { shares: 0, cpus: '', mems: '', period: 100000, quota: 50000 },
    memory: { limit: 100 * 2 ** 20, reservation: 0, swap: 200 * 2 ** 20 },
    pids: { limit: -1 },
  });
  assert.deepEqual(f.events, ['update']);
});

test('a stopped container only has its record changed', async () => {
  const f = fixture({ running: false });
  await update(f.ctx, 'web', request({ CpuShares: 512, RestartPolicy: { Name: 'always', MaximumRetryCount: 0 } }));
  assert.equal(f.applied.length, 0);
  assert.equal(f.record.hostConfig.CpuShares, 512);
  assert.deepEqual(f.record.hostConfig.RestartPolicy, { Name: 'always', MaximumRetryCount: 0 });
});

test('moby’s conflicts are refused with its words and change nothing', async () => {
  const cases: [Partial<HostConfig>, Partial<UpdateRequest>, RegExp][] = [
    [{ AutoRemove: true }, { RestartPolicy: { Name: 'always', MaximumRetryCount: 0 } }, /Restart policy cannot be updated because AutoRemove is enabled for the container/],
    [{}, { Memory: 64 * 2 ** 20 }, /Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time/],
    [{ CpuQuota: 20000 }, { NanoCpus: 1e9 }, /Nano CPUs cannot be updated as CPU Quota has already been set/],
    [{ NanoCpus: 1e9 }, { CpuPeriod: 50000 }, /CPU Period cannot be updated as NanoCPUs has already been set/],
  ];
  for (const [host, fields, pattern] of cases) {
    const f = fixture({ host });
    const before = structuredClone(f.record.hostConfig);
    await assert.rejects(update(f.ctx, 'web', request(fields)), (err) => err instanceof Fault && err.kind === 'conflict' && pattern.test(err.message) && err.message.startsWith(`Cannot update container ${id}: `));
    assert.deepEqual(f.record.hostConfig, before);
    assert.equal(f.applied.length, 0);
  }
});

test('invalid values are refused before anything changes', async () => {
  const cases: [Partial<UpdateRequest>, RegExp][] = [
    [{ Memory: 1024 }, /^Minimum memory limit allowed is 6MB$/],
    [{ Memory: 64 * 2 ** 20, MemorySwap: 32 * 2 ** 20 }, /Minimum memoryswap limit should be larger than memory limit/],
    [{ Memory: 64 * 2 ** 20, MemorySwap: -1, MemoryReservation: 128 * 2 ** 20 }, /can not be less than memory reservation/],
    [{ NanoCpus: 1e9, CpuQuota: 20000 }, /Nano CPUs and CPU Quota cannot both be set/],
    [{ CpuPeriod: 10 }, /CPU cfs period can not be less than 1ms/],
    [{ CpusetCpus: '0-x' }, /Invalid value 0-x for cpuset cpus/],
    [{ CpusetCpus: '999' }, /Requested CPUs are not available - requested 999/],
    [{ BlkioWeight: 5 }, /Range of blkio weight is from 10 to 1000/],
    [{ RestartPolicy: { Name: 'sometimes', MaximumRetryCount: 0 } }, /^invalid restart policy 'sometimes'$/],
    [{ RestartPolicy: { Name: 'always', MaximumRetryCount: 2 } }, /maximum retry count cannot be used with restart policy 'always'/],
    [{ unsupported: ['Ulimits', 'Devices'] }, /^Ulimits, Devices: not supported by docker update/],
  ];
  for (const [fields, pattern] of cases) {
    const f = fixture();
    await assert.rejects(update(f.ctx, 'web', request(fields)), (err) => err instanceof Fault && err.kind === 'invalid-argument' && pattern.test(err.message), String(pattern));
    assert.equal(f.saved.length, 0);
  }
});

test('what the host cannot enforce is dropped with moby’s warnings', async () => {
  const f = fixture({ host: { Memory: 64 * 2 ** 20 }, support: { swapLimit: false, blkioWeight: false, cpuQuota: true, pidsLimit: false } });
  const reply = await update(f.ctx, 'web', request({ Memory: 96 * 2 ** 20, BlkioWeight: 300, PidsLimit: 10, KernelMemory: 50 * 2 ** 20 }));
  assert.deepEqual(reply.Warnings, [
    'Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited without swap.',
    'Your kernel does not support PIDs limit capabilities or the cgroup is not mounted. PIDs limit discarded.',
    'Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.',
    'Specifying a kernel memory limit is deprecated and will be removed in a future release.',
    'Your kernel does not support kernel memory limit capabilities or the cgroup is not mounted. Limitation discarded.',
  ]);
  assert.equal(f.record.hostConfig.BlkioWeight, 0);
  assert.equal(f.record.hostConfig.MemorySwap, -1);
  assert.deepEqual(f.applied[0].memory, { limit: 96 * 2 ** 20, reservation: 0 }, 'no swap for runc without swap accounting');
});

test('a refusal of the kernel restores the record and answers moby’s system error', async () => {
  const f = fixture({ host: { Memory: 64 * 2 ** 20, MemorySwap: 64 * 2 ** 20 }, runtimeError: new Error('unable to set memory limit to 8388608 (current usage: 30000000, peak usage: 31000000)') });
  const before = structuredClone(f.record.hostConfig);
  await assert.rejects(update(f.ctx, 'web', request({ Memory: 8 * 2 ** 20, MemorySwap: 8 * 2 ** 20 })), (err: Error) => !(err instanceof Fault) && err.message === `Cannot update container ${id}: unable to set memory limit to 8388608 (current usage: 30000000, peak usage: 31000000)`);
  assert.deepEqual(f.record.hostConfig, before);
  assert.deepEqual(f.saved.at(-1), before);
});

test('cpus become a 100ms period and its share of it; an explicit quota goes as given', () => {
  assert.deepEqual(liveResources(request({ NanoCpus: 1.5e9 })).cpu, { shares: 0, cpus: '', mems: '', period: 100000, quota: 150000 });
  assert.deepEqual(liveResources(request({ CpuQuota: 30000, CpuPeriod: 60000, CpusetCpus: '0' })).cpu, { shares: 0, cpus: '0', mems: '', period: 60000, quota: 30000 });
  assert.equal(liveResources(request()).pids, undefined, 'no pids key: the limit stays');
});

test('--memory-swap -1 is stored for the next start and not sent live, as moby does', async () => {
  const f = fixture({ host: { Memory: 64 * 2 ** 20, MemorySwap: 128 * 2 ** 20 } });
  await update(f.ctx, 'web', request({ MemorySwap: -1 }));
  assert.equal(f.record.hostConfig.MemorySwap, -1);
  assert.deepEqual(f.applied[0].memory, { limit: 0, reservation: 0 });
});
