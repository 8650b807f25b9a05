import assert from 'node:assert/strict';
import { readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { after, before, describe, test } from 'node:test';
import { dockerChecks, startTestEngineWithBusybox, type TestEngine } from './engine-harness.ts';

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
    await fails(/CgroupParent \(--cgroup-parent\) is not supported by this engine/, 'create', '--cgroup-parent', 'mine', 'busybox');
    await fails(/PidMode "container:x" \(--pid\) is not supported by this engine/, 'create', '--pid', 'container:x', 'busybox');
  });
});
