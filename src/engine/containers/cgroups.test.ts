import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { detectCgroups, oomCounterFile, parseOomKills, readOomKills } from './cgroups.ts';

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
    assert.deepEqual(detectCgroups(v1), { version: 1, root: v1, swapAccounting: true, blkioWeight: true, cpuQuota: true, pids: true });
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
    assert.equal(await readOomKills(host, 'abc'), 3);
    assert.equal(await readOomKills(host, 'gone'), 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
