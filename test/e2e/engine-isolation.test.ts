import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { buildBusyboxRootfsTar, startTestEngine, type TestEngine } from './engine-harness.ts';

describe('isolation and limits through runc', () => {
  let engine: TestEngine;

  before(async () => {
    engine = await startTestEngine();
    const imported = await engine.docker(['import', await buildBusyboxRootfsTar(engine.root), 'busybox']);
    assert.equal(imported.code, 0, imported.stderr);
  });
  after(() => engine?.close());

  const run = async (...args: string[]) => engine.docker(['run', '--rm', ...args]);
  const out = async (...args: string[]) => {
    const result = await run(...args);
    assert.equal(result.code, 0, `docker run ${args.join(' ')}: ${result.stderr}`);
    return result.stdout.trim();
  };

  test('the process is PID 1 of its own pid namespace', async () => {
    assert.equal(await out('busybox', 'sh', '-c', 'echo $$'), '1');
  });

  test('the default network and --network none have only loopback, up; host shares the host’s', async () => {
    assert.equal(await out('busybox', 'ls', '/sys/class/net'), 'lo');
    assert.equal(await out('--network', 'none', 'busybox', 'ls', '/sys/class/net'), 'lo');
    assert.match(await out('--network', 'none', 'busybox', 'cat', '/sys/class/net/lo/operstate'), /unknown|up/i);
    const hostInterfaces = readdirSync('/sys/class/net').sort().join('\n');
    assert.equal((await out('--network', 'host', 'busybox', 'ls', '-1', '/sys/class/net')).split('\n').sort().join('\n'), hostInterfaces);
    const unknown = await run('--network', 'nowhere', 'busybox', 'true');
    assert.match(unknown.stderr, /network nowhere not found/);
  });

  test('a memory limit kills a hog with OOMKilled and 137', async () => {
    const result = await engine.docker(['run', '--name', 'hog', '-m', '16m', 'busybox', 'tail', '/dev/zero'], { timeoutMs: 60_000 });
    assert.equal(result.code, 137);
    assert.equal((await engine.docker(['inspect', '-f', '{{.State.OOMKilled}} {{.State.ExitCode}}', 'hog'])).stdout.trim(), 'true 137');
    assert.equal((await engine.docker(['rm', 'hog'])).code, 0);
  });

  test('--pids-limit holds', async () => {
    const result = await run('--pids-limit', '8', 'busybox', 'sh', '-c', 'cat /sys/fs/cgroup/pids/pids.max; for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 2 & done 2>&1; wait');
    assert.equal(result.stdout.split('\n')[0], '8');
    assert.match(result.stdout + result.stderr, /can't fork|Resource temporarily unavailable/);
  });

  test('--cpus sets the CFS quota; --read-only makes the rootfs read-only', async () => {
    assert.equal(await out('--cpus', '0.5', 'busybox', 'cat', '/sys/fs/cgroup/cpu/cpu.cfs_quota_us'), '50000');
    const readOnly = await run('--read-only', 'busybox', 'touch', '/x');
    assert.notEqual(readOnly.code, 0);
    assert.match(readOnly.stderr, /Read-only file system/);
  });

  test('Docker’s default capabilities unless --privileged; masked and read-only paths', async () => {
    assert.equal(await out('busybox', 'sh', '-c', 'grep CapEff /proc/self/status'), 'CapEff:\t00000000a80425fb');
    const privileged = await out('--privileged', 'busybox', 'sh', '-c', 'grep CapEff /proc/self/status');
    assert.notEqual(privileged, 'CapEff:\t00000000a80425fb');
    assert.equal(await out('busybox', 'sh', '-c', 'wc -c < /proc/timer_list'), '0');
    const write = await run('busybox', 'sh', '-c', 'echo x > /proc/sys/kernel/domainname');
    assert.match(write.stderr, /Read-only file system/);
  });
});
