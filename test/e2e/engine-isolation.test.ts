import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { detectCgroups } from '../../src/engine/containers/cgroups.ts';
import { startTestEngineWithBusybox, type TestEngine } from './engine-harness.ts';

/**
 * Where a container sees its own limits (/sys/fs/cgroup is its cgroup on v2, the controller roots on v1) and the
 * values runc writes for `--pids-limit 8`, `--cpus 0.5`, `--cpu-shares 512`, `-m 16m` (docker's default swap:
 * as much again) and `--blkio-weight 300` (runc fs2: io.bfq.weight as given, else io.weight scaled to 1..10000).
 */
function limitFiles(version: 1 | 2) {
  return version === 1
    ? {
        pids: ['pids/pids.max', '8'],
        quota: ['cpu/cpu.cfs_quota_us', '50000'],
        shares: ['cpu/cpu.shares', '512'],
        swap: ['memory/memory.memsw.limit_in_bytes', String(32 << 20)],
        weight: ['blkio/blkio.weight 2>/dev/null || cat blkio/blkio.bfq.weight', /^(default )?300$/],
      } as const
    : {
        pids: ['pids.max', '8'],
        quota: ['cpu.max', '50000 100000'],
        shares: ['cpu.weight', '20'],
        swap: ['memory.swap.max', String(16 << 20)],
        weight: ['io.bfq.weight 2>/dev/null || cat io.weight', /^default (300|2930)$/],
      } as const;
}

describe('isolation and limits through runc', () => {
  let engine: TestEngine;
  // The engine runs in this process, so this is the very detection it made. A limit the host cannot enforce is
  // checked on moby's other path (dropped with a warning, or refused) instead of being skipped.
  const cgroups = detectCgroups();
  const files = limitFiles(cgroups.version);
  const cat = (file: string) => `cd /sys/fs/cgroup && cat ${file}`;

  before(async () => {
    engine = await startTestEngineWithBusybox();
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

  test('the default network gives eth0 and loopback, --network none only loopback, up; host shares the host’s', async () => {
    assert.equal(await out('busybox', 'ls', '/sys/class/net'), 'eth0\nlo');
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

  test('--pids-limit holds where the pids controller is there, and is dropped with a warning where not', async () => {
    const result = await run('--pids-limit', '8', 'busybox', 'sh', '-c', `${cat(files.pids[0])}; for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 2 & done 2>&1; wait`);
    if (!cgroups.pids) {
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /PIDs limit discarded/);
      return;
    }
    assert.equal(result.stdout.split('\n')[0], files.pids[1]);
    assert.match(result.stdout + result.stderr, /can't fork|Resource temporarily unavailable/);
  });

  test('--cpus sets the CFS quota (refused without CFS bandwidth); --read-only makes the rootfs read-only', async () => {
    const quota = await run('--cpus', '0.5', 'busybox', 'sh', '-c', cat(files.quota[0]));
    if (cgroups.cpuQuota) assert.equal(quota.stdout.trim(), files.quota[1], quota.stderr);
    else assert.match(quota.stderr, /NanoCPUs can not be set, as your kernel does not support CPU CFS scheduler/);
    const readOnly = await run('--read-only', 'busybox', 'touch', '/x');
    assert.notEqual(readOnly.code, 0);
    assert.match(readOnly.stderr, /Read-only file system/);
  });

  test('--cpu-shares, swap and --blkio-weight reach the container’s cgroups where the host has them; docker info says which', async () => {
    assert.equal(await out('--cpu-shares', '512', 'busybox', 'sh', '-c', cat(files.shares[0])), files.shares[1]);
    const swap = await run('-m', '16m', 'busybox', 'sh', '-c', cat(files.swap[0]));
    if (cgroups.swapAccounting) assert.equal(swap.stdout.trim(), files.swap[1], swap.stderr);
    else assert.match(swap.stderr, /does not support swap limit capabilities .* Memory limited without swap/);
    // No CFQ/BFQ weight file (e.g. mq-deadline or none): moby discards the weight rather than fail in runc.
    const weight = await run('--blkio-weight', '300', 'busybox', 'sh', '-c', cgroups.blkioWeight ? cat(files.weight[0]) : 'true');
    assert.equal(weight.code, 0, weight.stderr);
    if (cgroups.blkioWeight) {
      assert.match(weight.stdout.trim(), files.weight[1]);
      assert.doesNotMatch(weight.stderr, /WARNING/);
    } else {
      assert.match(weight.stderr, /WARNING: Your kernel does not support Block I\/O weight or the cgroup is not mounted\. Weight discarded\./);
    }
    const info = JSON.parse((await engine.docker(['info', '-f', '{{json .}}'])).stdout);
    assert.deepEqual(
      { CpuCfsQuota: info.CpuCfsQuota, PidsLimit: info.PidsLimit, SwapLimit: info.SwapLimit, blkio: !(info.Warnings ?? []).includes('WARNING: No blkio weight support') },
      { CpuCfsQuota: cgroups.cpuQuota, PidsLimit: cgroups.pids, SwapLimit: cgroups.swapAccounting, blkio: cgroups.blkioWeight },
    );
    const bad = await run('--blkio-weight', '5', 'busybox', 'true');
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /Range of blkio weight is from 10 to 1000/);
  });

  test('the seccomp profile refuses new namespaces unless privileged or unconfined; no-new-privileges', async () => {
    assert.equal(await out('busybox', 'sh', '-c', 'grep Seccomp: /proc/self/status'), 'Seccomp:\t2');
    const userns = await run('busybox', 'unshare', '-U', 'true');
    assert.notEqual(userns.code, 0);
    assert.match(userns.stderr, /Operation not permitted/);
    // Where the kernel allows no user namespaces at all, lifting the filter meets the kernel's own refusal (ENOSPC).
    const usernsAllowed = Number(readFileSync('/proc/sys/user/max_user_namespaces', 'utf8')) > 0;
    for (const lifted of [['--security-opt', 'seccomp=unconfined'], ['--privileged'], ['--cap-add', 'SYS_ADMIN']]) {
      const result = await run(...lifted, 'busybox', 'unshare', '-U', 'true');
      if (usernsAllowed) assert.equal(result.code, 0, `${lifted.join(' ')}: ${result.stderr}`);
      else assert.match(result.stderr, /No space left on device/);
    }
    assert.equal(await out('busybox', 'sh', '-c', 'echo ok; grep NoNewPrivs: /proc/self/status'), 'ok\nNoNewPrivs:\t0');
    assert.equal(await out('--security-opt', 'no-new-privileges', 'busybox', 'grep', 'NoNewPrivs:', '/proc/self/status'), 'NoNewPrivs:\t1');
    const apparmor = await run('--security-opt', 'apparmor=strict', 'busybox', 'true');
    assert.equal(apparmor.code, 125);
    assert.match(apparmor.stderr, /apparmor=… is not supported/);
  });

  test('-v and --mount bind host paths, read-only when asked; bad specs are refused', async () => {
    const dir = mkdtempSync(join(engine.root, 'bind-'));
    writeFileSync(join(dir, 'in.txt'), 'from the host\n');
    assert.equal(await out('-v', `${dir}:/data`, 'busybox', 'sh', '-c', 'cat /data/in.txt; echo back >/data/out.txt'), 'from the host');
    assert.equal(readFileSync(join(dir, 'out.txt'), 'utf8'), 'back\n');
    const readOnly = await run('-v', `${dir}:/data:ro`, 'busybox', 'touch', '/data/x');
    assert.match(readOnly.stderr, /Read-only file system/);
    assert.equal(await out('--mount', `type=bind,source=${dir},target=/m,readonly`, 'busybox', 'cat', '/m/in.txt'), 'from the host');
    const fresh = join(dir, 'created', 'by-engine');
    assert.equal((await run('-v', `${fresh}:/new`, 'busybox', 'true')).code, 0);
    assert.ok(existsSync(fresh), 'a missing -v source is created, as moby does');
    const created = await engine.docker(['create', '--name', 'binder', '-v', `${dir}:/data:ro`, 'busybox', 'true']);
    assert.equal(created.code, 0, created.stderr);
    const mounts = JSON.parse((await engine.docker(['inspect', '-f', '{{json .Mounts}}', 'binder'])).stdout);
    assert.deepEqual(mounts, [{ Type: 'bind', Source: dir, Destination: '/data', Mode: 'ro', RW: false, Propagation: 'rprivate' }]);
    assert.equal((await engine.docker(['rm', 'binder'])).code, 0);
    for (const [args, message] of [
      [['-v', 'na/me:/data'], /includes invalid characters for a local volume name/],
      [['-v', `${dir}:data`], /mount path must be absolute/],
      [['-v', `${dir}:/data:bogus`], /invalid mode: bogus/],
      [['--mount', `type=bind,source=${join(dir, 'absent')},target=/m`], /bind source path does not exist/],
    ] as const) {
      const refused = await run(...args, 'busybox', 'true');
      assert.equal(refused.code, 125, refused.stderr);
      assert.match(refused.stderr, message);
    }
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
