import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, readlinkSync, rmdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { after, before, describe, test } from 'node:test';
import { deviceNumbers } from '../../src/engine/containers/spec-options.ts';
import { importBusybox } from '../support/busybox.ts';
import { type Dockerd, startDockerd } from '../support/dockerd.ts';
import { both, dockerPy, ok as okOn, type Side, sidesOf, withoutIds } from '../support/side-by-side.ts';
import { dockerChecks, startTestEngineWithBusybox, type TestEngine } from './engine-harness.ts';

// These read cgroup v1 files inside the container, as dockerd 20.10 places them; a host without the v1 memory or
// blkio hierarchy (cgroup v2 only, or blkio not mounted) truly cannot show them, so those cases say so and skip.
const v1Memory = existsSync('/sys/fs/cgroup/memory/memory.swappiness') ? false : 'needs the cgroup v1 memory hierarchy with memory.swappiness';
const v1Blkio = existsSync('/sys/fs/cgroup/blkio/blkio.throttle.read_bps_device') ? false : 'needs the cgroup v1 blkio hierarchy with throttle files';

// The create options docs/engine-create-options.md lists as honoured, observed from inside a container through
// the docker CLI, and a few refused ones, which must name the option.
describe('engine: create options honoured or refused by name', () => {
  let engine: TestEngine;
  const { ok, fails } = dockerChecks(() => engine);
  const run = (...args: string[]) => ok('run', '--rm', ...args);

  before(async () => {
    engine = await startTestEngineWithBusybox();
  });
  after(async () => {
    await engine?.close();
  });

  test('--group-add by name and by gid', async () => {
    const groups = await run('--group-add', 'nogroup', '--group-add', '4242', 'busybox', 'id', '-G');
    assert.deepEqual(groups.split(' ').sort(), ['0', '4242', '65534']);
    // An exec runs with them too (moby getUser).
    const id = await ok('run', '-d', '--group-add', '4242', 'busybox', 'sleep', '30');
    assert.deepEqual((await ok('exec', id, 'id', '-G')).split(' ').sort(), ['0', '4242']);
    await ok('rm', '-f', id);
  });

  test('--oom-score-adj', async () => {
    assert.equal(await run('--oom-score-adj', '500', 'busybox', 'cat', '/proc/1/oom_score_adj'), '500');
    await fails(/range for oom score adj is \[-1000, 1000\]/, 'create', '--oom-score-adj', '1001', 'busybox');
  });

  test('--shm-size', async () => {
    const df = await run('--shm-size', '8m', 'busybox', 'df', '-k', '/dev/shm');
    assert.match(df.split('\n')[1], /^shm\s+8192\s/);
    assert.match((await run('busybox', 'df', '-k', '/dev/shm')).split('\n')[1], /^shm\s+65536\s/);
  });

  test('--sysctl', async () => {
    assert.equal(await run('--sysctl', 'net.ipv4.ip_forward=1', 'busybox', 'cat', '/proc/sys/net/ipv4/ip_forward'), '1');
    // The CLI itself refuses sysctls outside the namespaced ones; net.* with the host's network is the daemon's.
    await fails(/sysctl "net.ipv4.ip_forward" not allowed in host network namespace/, 'create', '--network', 'host', '--sysctl', 'net.ipv4.ip_forward=1', 'busybox');
  });

  test('--ulimit', async () => {
    assert.equal(await run('--ulimit', 'nofile=1024:2048', 'busybox', 'sh', '-c', 'ulimit -n; ulimit -Hn'), '1024\n2048');
    // -1 is unlimited (RLIM_INFINITY), in the container and in an exec, which copies its limits. (core, not the
    // usual memlock: raising memlock's hard limit needs CAP_SYS_RESOURCE, which some hosts' root lacks.)
    assert.equal(await run('--ulimit', 'core=-1:-1', 'busybox', 'sh', '-c', 'ulimit -c'), 'unlimited');
    const id = (await engine.docker(['run', '-d', '--ulimit', 'core=-1:-1', 'busybox', 'sleep', '30'])).stdout.trim();
    assert.equal((await engine.docker(['exec', id, 'sh', '-c', 'ulimit -c'])).stdout.trim(), 'unlimited');
    await engine.docker(['rm', '-f', id]);
  });

  test('--pid host, --ipc host, --uts host', async () => {
    const pids = await run('--pid', 'host', 'busybox', 'sh', '-c', 'test -d /proc/1 && cat /proc/1/comm');
    assert.notEqual(pids, 'cat');
    const own = await run('busybox', 'cat', '/proc/1/comm');
    assert.equal(own, 'cat');
    assert.equal(await run('--ipc', 'host', 'busybox', 'readlink', '/proc/self/ns/ipc'), readlinkSync('/proc/self/ns/ipc'));
    assert.notEqual(await run('busybox', 'readlink', '/proc/self/ns/ipc'), readlinkSync('/proc/self/ns/ipc'));
    assert.equal(await run('--uts', 'host', 'busybox', 'hostname'), hostname());
  });

  test('--device', async () => {
    assert.equal(await run('--device', '/dev/null:/dev/mynull', 'busybox', 'sh', '-c', 'echo x > /dev/mynull && stat -c %t:%T /dev/mynull'), '1:3');
  });

  test('refused options name themselves', async () => {
    await fails(/Runtime.*--runtime|runtime name: foo/, 'create', '--runtime', 'foo', 'busybox');
    await fails(/StorageOpt \(--storage-opt\) is not supported by this engine/, 'create', '--storage-opt', 'size=1G', 'busybox');
    await fails(/DeviceRequests \(--gpus\) is not supported by this engine/, 'create', '--gpus', 'all', 'busybox');
    await fails(/CpuRealtimeRuntime \(--cpu-rt-runtime\) is not supported by this engine/, 'create', '--cpu-rt-runtime', '950000', 'busybox');
  });
});

/** Container ids (64 hex) and the engines' cgroup parents made alike, so both sides' words compare equal. */
const neutral = (text: string) => withoutIds(text).replace(/\/(docker|wharf)\/ID/g, '/<parent>/ID');

// The cgroup and namespace options moby honours on this host, asked of wharf and of dockerd 20.10 in the same
// test: what a process sees inside (cgroup files, /proc/self/ns, /proc/self/cgroup) and the errors must agree.
describe('engine: cgroup and shared-namespace options as dockerd 20.10 applies them', () => {
  let engine: TestEngine;
  let dockerd: Dockerd;
  let sides: Side[] = [];
  const onBoth = <T>(work: (side: Side) => Promise<T>) => both(sides, work);
  const runOn = (side: Side, ...args: string[]) => okOn(side, 'run', '--rm', '--network', 'none', ...args);

  before(async () => {
    [engine, dockerd] = await Promise.all([startTestEngineWithBusybox(), startDockerd()]);
    await importBusybox(dockerd, 'busybox');
    sides = sidesOf(engine, dockerd);
  });
  after(async () => {
    await Promise.all([engine?.close(), dockerd?.stop()]);
  });

  test('--memory-swappiness sets memory.swappiness; a value outside 0..100 is refused in moby\'s words', { skip: v1Memory }, async () => {
    const [mine, theirs] = await onBoth((side) => runOn(side, '-m', '64m', '--memory-swappiness', '7', 'busybox', 'cat', '/sys/fs/cgroup/memory/memory.swappiness'));
    assert.deepEqual([mine, theirs], ['7', '7']);
    // The CLI checks the range itself; a raw API client reaches the daemon's check.
    const script = `try:\n  api.create_container('busybox', 'true', host_config=api.create_host_config(mem_swappiness=101))\nexcept docker.errors.APIError as e:\n  print(e.status_code, e.explanation)`;
    const refusals = await onBoth((side) => dockerPy(side, script));
    assert.deepEqual(refusals, Array(2).fill('400 Invalid value: 101, valid memory swappiness range is 0-100'));
  });

  test('--cgroupns private gives a cgroup namespace of its own; host shares the host\'s', { skip: v1Memory }, async () => {
    const host = readlinkSync('/proc/self/ns/cgroup');
    const views = await onBoth(async (side) => ({
      private: neutral(await runOn(side, '--cgroupns', 'private', 'busybox', 'sh', '-c', 'readlink /proc/self/ns/cgroup; cat /proc/self/cgroup')),
      host: neutral(await runOn(side, '--cgroupns', 'host', 'busybox', 'sh', '-c', 'readlink /proc/self/ns/cgroup; grep memory /proc/self/cgroup')),
    }));
    for (const view of views) {
      const [ns, ...lines] = view.private.split('\n');
      assert.notEqual(ns, host);
      assert.ok(lines.length > 1 && lines.every((line) => line.endsWith(':/')), view.private);
      assert.equal(view.host.split('\n')[0], host);
    }
    assert.equal(views[0].private.split('\n').slice(1).join('\n'), views[1].private.split('\n').slice(1).join('\n'));
    assert.equal(views[0].host.split('\n')[1], views[1].host.split('\n')[1]);
  });

  test('per-device blkio throttles land in the container\'s blkio cgroup, by the device\'s major:minor', { skip: v1Blkio }, async () => {
    const disk = ['/dev/vda', '/dev/sda', '/dev/xvda', '/dev/nvme0n1'].find((d) => existsSync(d));
    assert.ok(disk, 'a disk to throttle');
    const { major, minor } = deviceNumbers(statSync(disk).rdev);
    const files = ['read_bps_device', 'write_bps_device', 'read_iops_device', 'write_iops_device'].map((f) => `/sys/fs/cgroup/blkio/blkio.throttle.${f}`);
    const args = ['--device-read-bps', `${disk}:1mb`, '--device-write-bps', `${disk}:2mb`, '--device-read-iops', `${disk}:30`, '--device-write-iops', `${disk}:40`];
    const seen = await onBoth((side) => runOn(side, ...args, 'busybox', 'cat', ...files));
    assert.deepEqual(seen, Array(2).fill([`${major}:${minor} 1048576`, `${major}:${minor} 2097152`, `${major}:${minor} 30`, `${major}:${minor} 40`].join('\n')));
    // A path that is not there fails the start with the same words on both.
    const missing = await onBoth((side) => side.docker(['run', '--rm', '--network', 'none', '--device-read-bps', '/dev/no-such-disk:1mb', 'busybox', 'true']));
    for (const result of missing) assert.match(result.stderr, /stat \/dev\/no-such-disk: no such file or directory/);
    // Without blkio.weight_device (no CFQ/BFQ) both warn and discard the weight; with it both apply it.
    const weights = await onBoth((side) => side.docker(['run', '--rm', '--network', 'none', '--blkio-weight-device', `${disk}:300`, 'busybox', 'true']));
    assert.equal(weights[0].code, weights[1].code);
    assert.equal(weights[0].stderr.includes('Weight-device discarded'), weights[1].stderr.includes('Weight-device discarded'), weights.map((w) => w.stderr).join('|'));
  });

  test('--cgroup-parent puts the container\'s cgroup under it on both; wharf\'s stats read it there', { skip: v1Memory }, async () => {
    const parentOf = (side: Side) => `/wharf-e2e-parent-${side.name}`;
    try {
      const seen = await onBoth(async (side) => {
        const line = await runOn(side, '--cgroup-parent', parentOf(side), '-m', '64m', 'busybox', 'grep', ':memory:', '/proc/self/cgroup');
        return withoutIds(line).replace(parentOf(side), '<parent>');
      });
      assert.deepEqual(seen, Array(2).fill(seen[0]));
      assert.match(seen[0], /^\d+:memory:<parent>\/ID$/);
      const id = await okOn(sides[0], 'run', '-d', '--network', 'none', '--cgroup-parent', parentOf(sides[0]), 'busybox', 'sh', '-c', 'dd if=/dev/zero of=/dev/shm/f bs=1M count=8 2>/dev/null; sleep 300');
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const usage = Number(await okOn(sides[0], 'stats', '--no-stream', '--format', '{{.MemUsage}}', id).then((text) => Number.parseFloat(text)));
      assert.ok(usage >= 8, `stats read the cgroup under the parent: ${usage}`);
      await okOn(sides[0], 'rm', '-f', id);
    } finally {
      // runc leaves the parent (moby's too): remove it from every hierarchy.
      for (const side of sides) {
        for (const hierarchy of readdirSync('/sys/fs/cgroup')) {
          const dir = join('/sys/fs/cgroup', hierarchy, parentOf(side));
          if (existsSync(dir)) rmdirSync(dir);
        }
      }
    }
  });

  test('--ipc container:X shares X\'s IPC namespace and /dev/shm; a private or stopped X is refused as dockerd does', async () => {
    const results = await onBoth(async (side) => {
      const ok = (...args: string[]) => okOn(side, ...args);
      const donor = await ok('run', '-d', '--network', 'none', '--ipc', 'shareable', '--name', 'ipc-donor', 'busybox', 'sh', '-c', 'echo hi > /dev/shm/note; sleep 300');
      const donorNs = await ok('exec', donor, 'readlink', '/proc/self/ns/ipc');
      const joined = await runOn(side, '--ipc', 'container:ipc-donor', 'busybox', 'sh', '-c', 'readlink /proc/self/ns/ipc; cat /dev/shm/note');
      await ok('run', '-d', '--network', 'none', '--name', 'ipc-private', 'busybox', 'sleep', '300');
      const privateDonor = await side.docker(['run', '--rm', '--network', 'none', '--ipc', 'container:ipc-private', 'busybox', 'true']);
      await ok('rm', '-f', 'ipc-donor', 'ipc-private');
      await ok('create', '--name', 'ipc-stopped', '--ipc', 'shareable', 'busybox', 'true');
      const stopped = await side.docker(['run', '--rm', '--network', 'none', '--ipc', 'container:ipc-stopped', 'busybox', 'true']);
      await ok('rm', 'ipc-stopped');
      return { same: joined === `${donorNs}\nhi`, privateDonor: neutral(privateDonor.stderr), stopped: neutral(stopped.stderr) };
    });
    assert.ok(results[0].same && results[1].same, JSON.stringify(results));
    const shmMounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((line) => line.includes(engine.root) && line.split(' ')[4].endsWith('/shm'));
    assert.deepEqual(shmMounts, [], 'the shareable /dev/shm tmpfs is unmounted when its container exits');
    assert.match(results[0].privateDonor, /can't join IPC of container ID: non-shareable IPC \(hint: use IpcMode:shareable for the donor container\)/);
    assert.equal(results[0].privateDonor, results[1].privateDonor);
    assert.match(results[0].stopped, /can't join IPC of container ID: container ID is not running/);
    assert.equal(results[0].stopped, results[1].stopped);
  });

  test('--pid container:X runs in X\'s PID namespace; a stopped X is refused as dockerd does', async () => {
    const results = await onBoth(async (side) => {
      const ok = (...args: string[]) => okOn(side, ...args);
      await ok('run', '-d', '--network', 'none', '--name', 'pid-donor', 'busybox', 'sleep', '300');
      const first = await runOn(side, '--pid', 'container:pid-donor', 'busybox', 'cat', '/proc/1/cmdline');
      await ok('rm', '-f', 'pid-donor');
      await ok('create', '--name', 'pid-stopped', 'busybox', 'true');
      const stopped = await side.docker(['run', '--rm', '--network', 'none', '--pid', 'container:pid-stopped', 'busybox', 'true']);
      await ok('rm', 'pid-stopped');
      return { first: first.replaceAll('\0', ' ').trim(), stopped: neutral(stopped.stderr) };
    });
    assert.deepEqual(results.map((r) => r.first), ['sleep 300', 'sleep 300']);
    assert.match(results[0].stopped, /container ID is not running/);
    assert.equal(results[0].stopped, results[1].stopped);
  });
});
