/*
 * What the host's cgroups offer, and the few files the engine reads itself. runc creates and removes the
 * container cgroups (cgroupfs driver, `linux.cgroupsPath` = /wharf/<id>); on a v1 or hybrid host (v1
 * controllers plus a unified mount, as on this project's CI) runc uses the v1 controllers, on a pure v2 host
 * the unified tree. The engine adapts the spec to what is there (a kernel without swap accounting or without
 * a blkio weight file makes runc fail if asked) and reads the OOM-kill counter before the cgroup goes away.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, posix } from 'node:path';

export interface CgroupHost {
  /** 1 for v1 and hybrid hosts (runc drives the v1 controllers there), 2 for a unified-only host. */
  version: 1 | 2;
  /** Mount point of the cgroup filesystem(s). */
  root: string;
  /** The memory controller accounts swap: memory+swap limits can be set. */
  swapAccounting: boolean;
  /** A blkio/io weight file exists (v1 blkio.weight or blkio.bfq.weight; v2 io.weight or io.bfq.weight). */
  blkioWeight: boolean;
  /** CFS quota is available (`--cpus`, `--cpu-quota`). */
  cpuQuota: boolean;
  /** The pids controller is available (`--pids-limit`). */
  pids: boolean;
  /** v1 memory.swappiness (`--memory-swappiness`); v2 has none. */
  swappiness?: boolean;
  /** A per-device weight file (v1 blkio.weight_device or blkio.bfq.weight_device; v2 io.weight). */
  blkioWeightDevice?: boolean;
  /** Per-device throttles (v1 blkio.throttle.*_device; v2 io.max). */
  blkioThrottle?: boolean;
}

/** Parent of every container cgroup without `--cgroup-parent`: <controller>/wharf/<id>. */
export const cgroupParent = '/wharf';

/**
 * linux.cgroupsPath for container `id` (moby WithCgroups, cgroupfs driver: filepath.Join(parent, id)). A relative
 * `--cgroup-parent` stays relative: runc places it below its own cgroup, which is the engine's.
 */
export function cgroupsPath(id: string, parent = ''): string {
  return parent ? posix.join(parent, id) : `${cgroupParent}/${id}`;
}

/** The engine's own cgroup in `controller`'s hierarchy ('' for v2's unified one), from /proc/self/cgroup. */
function ownCgroup(controller: string): string {
  const lines = readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n').map((line) => line.split(':'));
  const line = lines.find(([, controllers]) => (controller ? controllers.split(',').includes(controller) : controllers === ''));
  return line?.slice(2).join(':') ?? '/';
}

/** Reads what the cgroup mount at `root` (default /sys/fs/cgroup) supports. Synchronous: done once at start. */
export function detectCgroups(root = '/sys/fs/cgroup'): CgroupHost {
  if (existsSync(join(root, 'cgroup.controllers'))) {
    const controllers = readFileSync(join(root, 'cgroup.controllers'), 'utf8').trim().split(/\s+/);
    const swap = existsSync(join(root, 'init.scope', 'memory.swap.max')) || existsSync(join(root, 'system.slice', 'memory.swap.max'));
    return {
      version: 2,
      root,
      swapAccounting: swap,
      // io.weight only exists below the root; assume it when the io controller is enabled (cfq/bfq kernels).
      blkioWeight: controllers.includes('io') && (existsSync(join(root, 'system.slice', 'io.weight')) || existsSync(join(root, 'system.slice', 'io.bfq.weight'))),
      cpuQuota: controllers.includes('cpu'),
      pids: controllers.includes('pids'),
      swappiness: false,
      blkioWeightDevice: controllers.includes('io') && existsSync(join(root, 'system.slice', 'io.weight')),
      blkioThrottle: controllers.includes('io'),
    };
  }
  return {
    version: 1,
    root,
    swapAccounting: existsSync(join(root, 'memory', 'memory.memsw.limit_in_bytes')),
    blkioWeight: v1BlkioWeight(join(root, 'blkio')),
    cpuQuota: existsSync(join(root, 'cpu', 'cpu.cfs_quota_us')),
    pids: existsSync(join(root, 'pids', 'pids.max')) || existsSync(join(root, 'pids')),
    swappiness: existsSync(join(root, 'memory', 'memory.swappiness')),
    blkioWeightDevice: existsSync(join(root, 'blkio', 'blkio.weight_device')) || existsSync(join(root, 'blkio', 'blkio.bfq.weight_device')),
    blkioThrottle: existsSync(join(root, 'blkio', 'blkio.throttle.read_bps_device')),
  };
}

/**
 * CFQ's blkio.weight sits in every cgroup; BFQ's blkio.bfq.weight only below the root (CFTYPE_NOT_ON_ROOT), but
 * BFQ's statistics files at the root show that its policy is registered, so container cgroups get the weight.
 */
function v1BlkioWeight(blkio: string): boolean {
  if (existsSync(join(blkio, 'blkio.weight')) || existsSync(join(blkio, 'blkio.bfq.weight'))) return true;
  try {
    return readdirSync(blkio).some((name) => name.startsWith('blkio.bfq.'));
  } catch {
    return false;
  }
}

/** The file holding the OOM-kill counter of container `id`'s memory cgroup. */
export function oomCounterFile(host: CgroupHost, id: string, parent = ''): string {
  return join(cgroupDir(host, id, 'memory', parent), host.version === 2 ? 'memory.events' : 'memory.oom_control');
}

/** The `oom_kill N` count of a memory.oom_control (v1) or memory.events (v2) text; 0 when absent. */
export function parseOomKills(text: string): number {
  const match = /^oom_kill (\d+)$/m.exec(text);
  return match ? Number(match[1]) : 0;
}

/** OOM kills in container `id`'s cgroup so far (0 when the cgroup is gone). */
export async function readOomKills(host: CgroupHost, id: string): Promise<number> {
  return parseOomKills(await readFile(oomCounterFile(host, id), 'utf8').catch(() => ''));
}

/**
 * Container `id`'s cgroup directory: the v1 `controller`'s (cpu, cpuacct, memory, blkio, pids) or the unified
 * one, below `parent` (`--cgroup-parent`) when given.
 */
export function cgroupDir(host: CgroupHost, id: string, controller: string, parent = ''): string {
  const v1 = host.version === 1 ? controller : '';
  const path = cgroupsPath(id, parent);
  return join(host.root, v1, path.startsWith('/') ? path : posix.join(ownCgroup(v1), path));
}

/** A cgroup file's text, or undefined when it (or the cgroup) is absent. */
export function readCgroupFile(dir: string, name: string): Promise<string | undefined> {
  return readFile(join(dir, name), 'utf8').catch(() => undefined);
}
