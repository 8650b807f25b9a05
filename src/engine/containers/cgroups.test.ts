import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { cgroupDir, cgroupsPath, detectCgroups, oomCounterFile, parseOomKills, readOomKills } from './cgroups.ts';

test('the OOM-kill counter is read from v1 memory.oom_control and v2 memory.events', () => {
  assert.equal(parseOomKills('oom_kill_disable 0\nunder_oom 0\noom_kill 2\n'), 2);
  assert.equal(parseOomKills('low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\noom_group_kill 0\n'), 1);
  assert.equal(parseOomKills(''), 0);
});

test('a v1 (or hybrid) layout and a unified one are told apart, with what they offer', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-cgroup-'));
  try {
    const v1 = join(dir, 'v1');
    for (const d of ['memory', 'blkio', 'cpu', 'pids', 'unified']) await mkdir(join(v1, d), { recursive: true });
    await writeFile(join(v1, 'memory/memory.memsw.limit_in_bytes'), '');
    await writeFile(join(v1, 'blkio/blkio.bfq.weight'), '');
    await writeFile(join(v1, 'cpu/cpu.cfs_quota_us'), '');
    await writeFile(join(v1, 'memory/memory.swappiness'), '');
    await writeFile(join(v1, 'blkio/blkio.throttle.read_bps_device'), '');
    assert.deepEqual(detectCgroups(v1), {
      version: 1, root: v1, swapAccounting: true, blkioWeight: true, cpuQuota: true, pids: true, swappiness: true, blkioWeightDevice: false, blkioThrottle: true,
    });
    await rm(join(v1, 'blkio/blkio.bfq.weight'));
    assert.equal(detectCgroups(v1).blkioWeight, false, 'no weight file and no BFQ policy');
    await writeFile(join(v1, 'blkio/blkio.bfq.io_service_bytes'), '');
    assert.equal(detectCgroups(v1).blkioWeight, true, 'BFQ registered: its weight file exists below the root only');
    assert.equal(oomCounterFile(detectCgroups(v1), 'abc'), join(v1, 'memory/wharf/abc/memory.oom_control'));
    const v2 = join(dir, 'v2');
    await mkdir(join(v2, 'wharf/abc'), { recursive: true });
    await writeFile(join(v2, 'cgroup.controllers'), 'cpuset cpu io memory pids\n');
    await writeFile(join(v2, 'wharf/abc/memory.events'), 'oom 1\noom_kill 3\n');
    const host = detectCgroups(v2);
    assert.equal(host.version, 2);
    assert.equal(host.pids, true);
    assert.equal(host.swappiness, false, 'cgroup v2 has no swappiness');
    assert.equal(await readOomKills(host, 'abc'), 3);
    assert.equal(await readOomKills(host, 'gone'), 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('--cgroup-parent: <parent>/<id>, a relative parent below the engine\'s own cgroup as runc places it', () => {
  assert.equal(cgroupsPath('abc'), '/wharf/abc');
  assert.equal(cgroupsPath('abc', '/mine/'), '/mine/abc');
  assert.equal(cgroupsPath('abc', 'mine'), 'mine/abc');
  const v1 = { version: 1, root: '/cg', swapAccounting: true, blkioWeight: true, cpuQuota: true, pids: true } as const;
  assert.equal(cgroupDir(v1, 'abc', 'memory', '/mine'), '/cg/memory/mine/abc');
  assert.equal(oomCounterFile(v1, 'abc', '/mine'), '/cg/memory/mine/abc/memory.oom_control');
  const own = readFileSync('/proc/self/cgroup', 'utf8').split('\n').map((l) => l.split(':')).find(([, c]) => c?.split(',').includes('memory'));
  if (own) assert.equal(cgroupDir(v1, 'abc', 'memory', 'mine'), join('/cg/memory', own[2], 'mine/abc'));
  const v2 = { ...v1, version: 2 } as const;
  assert.equal(cgroupDir(v2, 'abc', 'memory', '/mine'), '/cg/mine/abc');
});
