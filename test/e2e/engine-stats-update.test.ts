import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import Docker from 'dockerode';
import { importBusybox } from '../support/busybox.ts';
import { type Dockerd, startDockerd } from '../support/dockerd.ts';
import { withoutIds } from '../support/side-by-side.ts';
import { dockerBin, dockerChecks, startTestEngineWithBusybox, type TestEngine } from './engine-harness.ts';

// Real clients: the docker CLI and dockerode against wharf, and a private dockerd 20.10 as the anchor for the
// JSON shape and the refusals.
const burn = ['sh', '-c', 'dd if=/dev/zero of=/dev/shm/fill bs=1M count=24 2>/dev/null; while :; do :; done'];

/** Every key path of a JSON value ("cpu_stats.cpu_usage.total_usage"); list elements as `[]`. */
function keyPaths(value: unknown, prefix = ''): string[] {
  if (Array.isArray(value)) return value.length ? keyPaths(value[0], `${prefix}[]`) : [`${prefix}[]`];
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => [`${prefix}${k}`, ...keyPaths(v, `${prefix}${k}.`)]);
  }
  return [];
}

function cgroupFile(controller: string, id: string, file: string): string {
  return readFileSync(`/sys/fs/cgroup/${controller}/wharf/${id}/${file}`, 'utf8').trim();
}

describe('docker stats and docker update against wharf, with dockerd 20.10 as the anchor', () => {
  let engine: TestEngine;
  let dockerd: Dockerd;
  let wharfApi: Docker;
  let anchorApi: Docker;
  const { ok, inspect } = dockerChecks(() => engine);

  before(async () => {
    [engine, dockerd] = await Promise.all([startTestEngineWithBusybox(['-c', 'CMD ["sh"]']), startDockerd()]);
    await importBusybox(dockerd, 'busybox');
    wharfApi = new Docker({ socketPath: engine.socket });
    anchorApi = new Docker({ socketPath: dockerd.host.replace('unix://', '') });
  });

  after(async () => {
    await dockerd?.stop();
    await engine?.close();
  });

  test('one sample has the keys dockerd gives, and its numbers move', async () => {
    const mine = await ok('run', '-d', '--name', 'burner', 'busybox', ...burn);
    const theirs = (await dockerd.dockerOk(['run', '-d', '--name', 'burner', 'busybox', ...burn])).trim();
    await sleep(1500);
    const [a, b] = await Promise.all([
      wharfApi.getContainer(mine).stats({ stream: false }),
      anchorApi.getContainer(theirs).stats({ stream: false }),
    ]);
    assert.deepEqual(keyPaths(a).sort(), keyPaths(b).sort());
    assert.equal(a.id, mine);
    assert.equal(a.name, '/burner');
    assert.ok(a.cpu_stats.cpu_usage.total_usage > a.precpu_stats.cpu_usage.total_usage, 'CPU time grows between the two samples');
    const cpuShare = (a.cpu_stats.cpu_usage.total_usage - a.precpu_stats.cpu_usage.total_usage) / (a.cpu_stats.system_cpu_usage - a.precpu_stats.system_cpu_usage);
    assert.ok(cpuShare > 0.2 && cpuShare <= 1.05, `a busy loop uses one CPU of ${a.cpu_stats.online_cpus}: ${cpuShare}`);
    assert.ok(a.memory_stats.usage > 24 * 2 ** 20, `the 24 MiB in /dev/shm count: ${a.memory_stats.usage}`);
    assert.ok(a.memory_stats.limit > 0 && a.pids_stats!.current! >= 1);
    assert.ok(a.networks?.eth0, 'eth0 on the default bridge');
    await dockerd.dockerOk(['rm', '-f', 'burner']);
  });

  test('docker stats --no-stream shows CPU %, MEM USAGE / LIMIT, NET I/O, BLOCK I/O and PIDS', async () => {
    const line = JSON.parse(await ok('stats', '--no-stream', '--format', '{{json .}}', 'burner'));
    assert.equal(line.Name, 'burner');
    assert.ok(Number.parseFloat(line.CPUPerc) > 20, `CPU ${line.CPUPerc}`);
    assert.match(line.MemUsage, /^\d+(\.\d+)?MiB \/ \d+(\.\d+)?GiB$/);
    assert.ok(Number.parseFloat(line.MemUsage) >= 24);
    assert.match(line.NetIO, /^\d+(\.\d+)?k?B \/ \d+(\.\d+)?k?B$/);
    assert.match(line.BlockIO, /^\d+(\.\d+)?[kMG]?B \/ \d+(\.\d+)?[kMG]?B$/);
    assert.ok(Number(line.PIDs) >= 1);
  });

  test('streaming docker stats refreshes every second until killed', async () => {
    const child = spawn(dockerBin, ['stats', '--format', '{{.Name}} {{.CPUPerc}}', 'burner'], { env: engine.env });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    await sleep(3500);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.on('close', resolve));
    const samples = out.split('\n').filter((l) => /^burner \d+\.\d+%/.test(l.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '')));
    assert.ok(samples.length >= 2, `several refreshes: ${JSON.stringify(out)}`);
  });

  test('a stream ends when the client goes away, and a stopped container gives zeros', async () => {
    const stream = (await wharfApi.getContainer('burner').stats({ stream: true })) as unknown as NodeJS.ReadableStream & { destroy(): void };
    const first = await new Promise<string>((resolve) => stream.once('data', (chunk: Buffer) => resolve(chunk.toString())));
    assert.equal(JSON.parse(first).preread, '0001-01-01T00:00:00Z');
    stream.destroy();
    await ok('create', '--name', 'idle', 'busybox', 'true');
    await dockerd.dockerOk(['create', '--name', 'idle', 'busybox', 'true']);
    const [a, b] = await Promise.all([wharfApi.getContainer('idle').stats({ stream: false }), anchorApi.getContainer('idle').stats({ stream: false })]);
    assert.deepEqual({ ...a, id: '' }, { ...b, id: '' });
  });

  test('update applies limits live, to inspect and the cgroup, with dockerd’s answers', async () => {
    const id = await ok('inspect', '-f', '{{.Id}}', 'burner');
    const reply = await wharfApi.getContainer(id).update({ Memory: 96 * 2 ** 20, MemorySwap: 192 * 2 ** 20, NanoCpus: 5e8, PidsLimit: 50, CpuShares: 512 });
    assert.deepEqual(reply, { Warnings: null });
    assert.equal(cgroupFile('memory', id, 'memory.limit_in_bytes'), String(96 * 2 ** 20));
    assert.equal(cgroupFile('cpu', id, 'cpu.cfs_quota_us'), '50000');
    assert.equal(cgroupFile('cpu', id, 'cpu.shares'), '512');
    assert.equal(cgroupFile('pids', id, 'pids.max'), '50');
    const host = await inspect('burner', '.HostConfig');
    assert.equal(host.Memory, 96 * 2 ** 20);
    assert.equal(host.NanoCpus, 5e8);
    assert.equal(host.PidsLimit, 50);
    await ok('update', '--cpuset-cpus', '0', '--restart', 'on-failure:3', 'burner');
    assert.equal(cgroupFile('cpuset', id, 'cpuset.cpus'), '0');
    assert.deepEqual(await inspect('burner', '.HostConfig.RestartPolicy'), { Name: 'on-failure', MaximumRetryCount: 3 });
    await sleep(2500);
    const line = JSON.parse(await ok('stats', '--no-stream', '--format', '{{json .}}', 'burner'));
    assert.ok(Number.parseFloat(line.CPUPerc) < 60, `capped at half a CPU: ${line.CPUPerc}`);
    assert.match(line.MemUsage, / \/ 96MiB$/);
    await ok('restart', '-t', '0', 'burner');
    const again = await ok('inspect', '-f', '{{.Id}}', 'burner');
    assert.equal(cgroupFile('cpuset', again, 'cpuset.cpus'), '0', 'the next start keeps what update set');
    assert.equal(cgroupFile('memory', again, 'memory.limit_in_bytes'), String(96 * 2 ** 20));
    assert.equal(cgroupFile('cpu', again, 'cpu.cfs_quota_us'), '50000');
  });

  // moby (20.10 and 25) sends only a positive swap limit to the runtime: -1 is stored, and lifts the limit at the
  // next start.
  test('update --memory-swap -1 is stored and applies from the next start, as on dockerd', async () => {
    const memsw = '/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes';
    const seen = await Promise.all(
      [(args: string[]) => engine.docker(args), (args: string[]) => dockerd.docker(args)].map(async (docker) => {
        const step = async (...args: string[]) => {
          const result = await docker(args);
          assert.equal(result.code, 0, `docker ${args.join(' ')}: ${result.stderr}`);
          return result.stdout.trim();
        };
        await step('run', '-d', '--name', 'swapper', '--network', 'none', '-m', '32m', '--memory-swap', '64m', 'busybox', 'sleep', '300');
        const before = await step('exec', 'swapper', 'cat', memsw);
        await step('update', '--memory-swap', '-1', 'swapper');
        const after = await step('exec', 'swapper', 'cat', memsw);
        const stored = await step('inspect', '-f', '{{.HostConfig.MemorySwap}}', 'swapper');
        await step('restart', '-t', '0', 'swapper');
        const restarted = await step('exec', 'swapper', 'cat', memsw);
        await step('rm', '-f', 'swapper');
        return { before, after, stored, restarted };
      }),
    );
    assert.deepEqual(seen[0], seen[1]);
    assert.deepEqual(seen[0], { before: String(64 * 2 ** 20), after: String(64 * 2 ** 20), stored: '-1', restarted: '9223372036854771712' });
  });

  test('refusals and warnings read as dockerd’s', async () => {
    const same = async (args: (name: string) => string[]) => {
      const mine = await engine.docker(args('xx'));
      const theirs = await dockerd.docker(args('xx'));
      const norm = (s: string) => withoutIds(s).trim();
      assert.equal(norm(mine.stderr), norm(theirs.stderr), args('xx').join(' '));
      assert.equal(mine.code, theirs.code);
    };
    await ok('run', '-d', '--rm', '--name', 'xx', 'busybox', 'sleep', '100');
    await dockerd.dockerOk(['run', '-d', '--rm', '--name', 'xx', 'busybox', 'sleep', '100']);
    await same((n) => ['update', '--restart', 'always', n]);
    await same((n) => ['update', '-m', '64m', n]);
    await same((n) => ['update', '-m', '1m', n]);
    await same((n) => ['update', '--cpus', '0.5', '--cpu-quota', '20000', n]);
    await same((n) => ['update', '--cpuset-cpus', '7', n]);
    await same((n) => ['update', '--blkio-weight', '5', n]);
    await same((n) => ['update', '--restart', 'sometimes', n]);
    await same((n) => ['update', '--pids-limit', '-1', n]);
    await same((n) => ['update', '--restart', 'always:3', n]);
    const replies = await Promise.all([wharfApi, anchorApi].map((api) => api.getContainer('xx').update({ CpuShares: 512, BlkioWeight: 300 })));
    assert.deepEqual(replies[0], replies[1], 'the same Warnings (null when there are none)');
    const quiet = await Promise.all([wharfApi, anchorApi].map((api) => api.getContainer('xx').update({ CpuShares: 256 })));
    assert.deepEqual(quiet, [{ Warnings: null }, { Warnings: null }]);
    const refused = await wharfApi.getContainer('xx').update({ Ulimits: [{ Name: 'nofile', Soft: 1, Hard: 1 }] }).catch((err: Error) => err);
    assert.match(String(refused), /Ulimits: not supported by docker update/);
    await ok('rm', '-f', 'xx');
    await dockerd.dockerOk(['rm', '-f', 'xx']);
  });

  test('a limit below what the container uses is the kernel’s refusal, and the record keeps the old one', async () => {
    await ok('run', '-d', '--name', 'filled', '-m', '128m', '--memory-swap', '128m', 'busybox', 'sh', '-c', 'dd if=/dev/zero of=/dev/shm/f bs=1M count=40 2>/dev/null; sleep 100');
    await sleep(1000);
    const result = await engine.docker(['update', '-m', '8m', '--memory-swap', '8m', 'filled']);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /Cannot update container [0-9a-f]{64}: .*memory limit/);
    assert.equal(await inspect('filled', '.HostConfig.Memory'), 128 * 2 ** 20);
    await ok('rm', '-f', 'filled');
  });

  test('lowering the memory limit below what the container then takes gets it OOM-killed', async () => {
    const script = 'while [ ! -e /tmp/go ]; do sleep 0.1; done; x=$(head -c 60000000 /dev/zero | tr "\\0" a); sleep 100';
    await ok('run', '-d', '--name', 'hog', '-m', '256m', '--memory-swap', '256m', 'busybox', 'sh', '-c', script);
    await ok('update', '-m', '24m', '--memory-swap', '24m', 'hog');
    await ok('exec', 'hog', 'touch', '/tmp/go');
    assert.equal(await ok('wait', 'hog'), '137');
    assert.equal(await inspect('hog', '.State.OOMKilled'), true);
    assert.equal(await inspect('hog', '.HostConfig.Memory'), 24 * 2 ** 20);
    await ok('rm', '-f', 'hog', 'burner', 'idle');
  });
});
