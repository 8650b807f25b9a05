import { cpus } from 'node:os';
import { Fault } from '../../base/fault.ts';

/** moby's linux floor for `-m` and `--memory-reservation` (daemon/daemon_unix.go linuxMinMemory). */
export const minMemory = 6 * 1024 * 1024;

/** `--blkio-weight`: 0 (unset) or 10..1000, at create and at update. */
export function checkBlkioWeight(weight: number): void {
  if (weight > 0 && (weight < 10 || weight > 1000)) throw new Fault('invalid-argument', 'Range of blkio weight is from 10 to 1000');
}

/** The CPU fields moby checks the same way at create and at update (daemon_unix.go verifyPlatformContainerResources). */
export interface CpuSettings {
  NanoCpus: number;
  CpuPeriod: number;
  CpuQuota: number;
  CpusetCpus: string;
  CpusetMems: string;
}

export function verifyCpu(request: CpuSettings): void {
  const fail = (message: string) => new Fault('invalid-argument', message);
  const n = cpus().length;
  if (request.NanoCpus > 0 && request.CpuPeriod > 0) throw fail('Conflicting options: Nano CPUs and CPU Period cannot both be set');
  if (request.NanoCpus > 0 && request.CpuQuota > 0) throw fail('Conflicting options: Nano CPUs and CPU Quota cannot both be set');
  if (request.NanoCpus < 0 || request.NanoCpus > n * 1e9) throw fail(`Range of CPUs is from 0.01 to ${n}.00, as there are only ${n} CPUs available`);
  if (request.CpuPeriod !== 0 && (request.CpuPeriod < 1000 || request.CpuPeriod > 1000000)) {
    throw fail('CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)');
  }
  if (request.CpuQuota > 0 && request.CpuQuota < 1000) throw fail('CPU cfs quota can not be less than 1ms (i.e. 1000)');
  checkCpuset(request.CpusetCpus, n, 'cpus', (list) => `Requested CPUs are not available - requested ${list}, available: 0-${n - 1}`);
  // Memory nodes: this engine's hosts have node 0 (moby reads cpuset.mems of its root).
  checkCpuset(request.CpusetMems, 1, 'mems', (list) => `Requested memory nodes are not available - requested ${list}, available: 0`);
}

/** moby parsers.ParseUintList, then every member below `count`. */
function checkCpuset(list: string, count: number, what: string, unavailable: (list: string) => string): void {
  if (!list) return;
  for (const part of list.split(',')) {
    const range = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!range || (range[2] !== undefined && Number(range[2]) < Number(range[1]))) {
      throw new Fault('invalid-argument', `Invalid value ${list} for cpuset ${what}: invalid format: ${list}`);
    }
    if (Number(range[2] ?? range[1]) >= count) throw new Fault('invalid-argument', unavailable(list));
  }
}


/** The cgroup options moby adapts to the host at create (daemon_unix.go verifyPlatformContainerResources). */
export interface CgroupOptions {
  MemorySwappiness?: number | null;
  BlkioWeightDevice?: unknown[] | null;
  BlkioDeviceReadBps?: unknown[] | null;
  BlkioDeviceWriteBps?: unknown[] | null;
  BlkioDeviceReadIOps?: unknown[] | null;
  BlkioDeviceWriteIOps?: unknown[] | null;
}

const blkioDeviceWarnings = {
  BlkioWeightDevice: 'Your kernel does not support Block I/O weight_device or the cgroup is not mounted. Weight-device discarded.',
  BlkioDeviceReadBps: 'Your kernel does not support BPS Block I/O read limit or the cgroup is not mounted. Block I/O BPS read limit discarded.',
  BlkioDeviceWriteBps: 'Your kernel does not support BPS Block I/O write limit or the cgroup is not mounted. Block I/O BPS write limit discarded.',
  BlkioDeviceReadIOps: 'Your kernel does not support IOPS Block read limit or the cgroup is not mounted. Block I/O IOPS read limit discarded.',
  BlkioDeviceWriteIOps: 'Your kernel does not support IOPS Block write limit or the cgroup is not mounted. Block I/O IOPS write limit discarded.',
} as const;

/**
 * Swappiness -1 is "unset" (fixMemorySwappiness); what the host cannot enforce is dropped with moby's warning
 * (runc would fail to start on a missing file); a swappiness outside 0..100 is refused.
 */
export function adaptCgroupOptions(host: CgroupOptions, support: { swappiness?: boolean; blkioWeightDevice?: boolean; blkioThrottle?: boolean }): string[] {
  const warnings: string[] = [];
  if (host.MemorySwappiness === -1) host.MemorySwappiness = null;
  if (host.MemorySwappiness != null && !support.swappiness) {
    warnings.push('Your kernel does not support memory swappiness capabilities or the cgroup is not mounted. Memory swappiness discarded.');
    host.MemorySwappiness = null;
  }
  if (host.MemorySwappiness != null && (host.MemorySwappiness < 0 || host.MemorySwappiness > 100)) {
    throw new Fault('invalid-argument', `Invalid value: ${host.MemorySwappiness}, valid memory swappiness range is 0-100`);
  }
  for (const [field, warning] of Object.entries(blkioDeviceWarnings) as [keyof typeof blkioDeviceWarnings, string][]) {
    const supported = field === 'BlkioWeightDevice' ? support.blkioWeightDevice : support.blkioThrottle;
    if (host[field]?.length && !supported) {
      warnings.push(warning);
      host[field] = [];
    }
  }
  return warnings;
}
