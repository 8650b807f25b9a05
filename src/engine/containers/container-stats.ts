/*
 * `docker stats` after moby daemon/stats.go and daemon/stats/collector.go: one object a second while streaming,
 * each carrying the previous sample as `precpu_stats`/`preread`; `stream=false` primes with a first sample and
 * answers the second; `one-shot` answers a single sample. A container that is not running gets moby's empty
 * object (name and id only), and a stream keeps sending those until it is removed or the client goes away.
 */
import { readFile } from 'node:fs/promises';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { emptyBlkioStats, emptyCpuStats, type BlkioStats, type CgroupStats, type CpuStats, type MemoryStats, type PidsStats } from './cgroup-stats.ts';
import { hostIfname } from './container-networking.ts';
import { zeroTime, type ContainerRecord } from './container-record.ts';
import type { DaemonContext } from './daemon-context.ts';

export interface NetworkStats {
  rx_bytes: number;
  rx_packets: number;
  rx_errors: number;
  rx_dropped: number;
  tx_bytes: number;
  tx_packets: number;
  tx_errors: number;
  tx_dropped: number;
}

/** moby's types.StatsJSON, its keys in moby's order. */
export interface StatsJson {
  read: string;
  preread: string;
  pids_stats: PidsStats;
  blkio_stats: BlkioStats;
  num_procs: number;
  storage_stats: Record<string, never>;
  cpu_stats: CpuStats;
  precpu_stats: CpuStats;
  memory_stats: MemoryStats;
  name: string;
  id: string;
  networks?: Record<string, NetworkStats>;
}

export interface StatsOptions {
  stream: boolean;
  oneShot: boolean;
  /** moby's collector interval. */
  intervalMs?: number;
}

/** Where the host's counters are read; tests point them at fixtures. */
export interface StatsSources {
  procStat: string;
  netClass: string;
  machineMemory: () => number;
}

const hostSources: StatsSources = { procStat: '/proc/stat', netClass: '/sys/class/net', machineMemory: totalmem };

type Sample = Pick<StatsJson, 'read' | 'pids_stats' | 'blkio_stats' | 'cpu_stats' | 'memory_stats' | 'networks'>;

/**
 * The container's stats as a stream of JSON lines. Resolves the container first (a missing one is a not-found
 * before anything is sent); destroying the stream stops the sampling at once.
 */
export function containerStats(ctx: DaemonContext, input: string, options: StatsOptions, sources: StatsSources = hostSources): Readable {
  const record = ctx.deps.store.resolve(input);
  const abort = new AbortController();
  const lines = frames(ctx, record, { intervalMs: 1000, ...options }, sources, abort.signal);
  return new Readable({
    async read() {
      try {
        const next = await lines.next();
        this.push(next.done ? null : next.value);
      } catch (err) {
        if (!abort.signal.aborted) this.destroy(err as Error);
      }
    },
    destroy(err, callback) {
      abort.abort();
      callback(err);
    },
  });
}

async function* frames(ctx: DaemonContext, record: ContainerRecord, options: Required<StatsOptions>, sources: StatsSources, signal: AbortSignal): AsyncGenerator<string> {
  let previous: { read: string; cpu: CpuStats } = { read: zeroTime, cpu: emptyCpuStats() };
  const next = async (): Promise<string> => {
    const sample = running(record) ? await sampleStats(ctx, record, sources) : undefined;
    const json = statsJson(record, sample, previous);
    previous = { read: json.read, cpu: json.cpu_stats };
    return `${JSON.stringify(json)}\n`;
  };
  if (!options.stream) {
    // moby: a stopped container answers at once; otherwise a first sample primes precpu_stats unless one-shot.
    if (running(record) && !options.oneShot) {
      await next();
      await sleep(options.intervalMs, undefined, { signal });
    }
    yield await next();
    return;
  }
  while (ctx.deps.store.get(record.id) && !signal.aborted) {
    yield await next();
    await sleep(options.intervalMs, undefined, { signal });
  }
}

function running(record: ContainerRecord): boolean {
  return record.state.Running && !record.state.Restarting;
}

/** One StatsJSON: the sample (or moby's zero values when there is none) with the previous one as pre*. */
export function statsJson(record: Pick<ContainerRecord, 'id' | 'name'>, sample: Sample | undefined, previous: { read: string; cpu: CpuStats }): StatsJson {
  return {
    read: sample?.read ?? zeroTime,
    preread: previous.read,
    pids_stats: sample?.pids_stats ?? {},
    blkio_stats: sample?.blkio_stats ?? emptyBlkioStats(),
    num_procs: 0,
    storage_stats: {},
    cpu_stats: sample?.cpu_stats ?? emptyCpuStats(),
    precpu_stats: previous.cpu,
    memory_stats: sample?.memory_stats ?? {},
    name: record.name,
    id: record.id,
    ...(sample?.networks && Object.keys(sample.networks).length ? { networks: sample.networks } : {}),
  };
}

/** A running container's counters, the system's CPU time read right after them (as moby's collector does). */
async function sampleStats(ctx: DaemonContext, record: ContainerRecord, sources: StatsSources): Promise<Sample | undefined> {
  const cgroup = await ctx.deps.runtime.stats(record.id, String(record.hostConfig?.CgroupParent ?? ''));
  if (!cgroup) return undefined;
  const [procStat, networks] = await Promise.all([readFile(sources.procStat, 'utf8'), readNetworks(record, sources.netClass)]);
  return withHost(cgroup, parseProcStat(procStat), sources.machineMemory(), { read: new Date().toISOString(), networks });
}

/** Adds what the daemon knows to the cgroup's view; an unlimited memory limit shows the machine's memory. */
export function withHost(cgroup: CgroupStats, system: SystemCpu, machineMemory: number, extra: { read: string; networks: Record<string, NetworkStats> }): Sample {
  const memory = { ...cgroup.memory_stats };
  if (memory.limit !== undefined && machineMemory > 0 && memory.limit > machineMemory) memory.limit = machineMemory;
  return {
    read: extra.read,
    pids_stats: cgroup.pids_stats,
    blkio_stats: cgroup.blkio_stats,
    cpu_stats: { ...cgroup.cpu_stats, system_cpu_usage: system.systemUsage, online_cpus: system.onlineCpus },
    memory_stats: memory,
    networks: extra.networks,
  };
}

export interface SystemCpu {
  /** Nanoseconds of CPU time the host has spent, all CPUs together (moby's getSystemCPUUsage). */
  systemUsage: number;
  onlineCpus: number;
}

/** /proc/stat: the first seven fields of the `cpu` line in USER_HZ ticks, and one `cpuN` line per online CPU. */
export function parseProcStat(text: string): SystemCpu {
  let systemUsage = 0;
  let onlineCpus = 0;
  for (const line of text.split('\n')) {
    const parts = line.trim().split(/\s+/);
    if (parts[0] === 'cpu') {
      if (parts.length < 8) throw new Error('invalid number of cpu fields');
      systemUsage = (parts.slice(1, 8).reduce((sum, v) => sum + Number(v), 0) * 1e9) / 100;
    } else if (/^cpu\d+$/.test(parts[0])) onlineCpus++;
  }
  return { systemUsage, onlineCpus };
}

const netFields = ['bytes', 'packets', 'errors', 'dropped'] as const;

/**
 * Per interface inside the container (eth0, …), from the host end of its veth: what the host side receives the
 * container sent, so rx and tx swap.
 */
async function readNetworks(record: ContainerRecord, netClass: string): Promise<Record<string, NetworkStats>> {
  const out: Record<string, NetworkStats> = {};
  const endpoints = Object.values(record.networks ?? {}).filter((e) => e.InterfaceName && e.NetworkID);
  for (const endpoint of endpoints.sort((a, b) => (a.InterfaceName! < b.InterfaceName! ? -1 : 1))) {
    const dir = join(netClass, hostIfname(record.id, endpoint.NetworkID), 'statistics');
    const read = async (name: string) => Number((await readFile(join(dir, name), 'utf8').catch(() => '0')).trim()) || 0;
    const [rx, tx] = await Promise.all([Promise.all(netFields.map((f) => read(`tx_${f}`))), Promise.all(netFields.map((f) => read(`rx_${f}`)))]);
    out[endpoint.InterfaceName!] = {
      rx_bytes: rx[0], rx_packets: rx[1], rx_errors: rx[2], rx_dropped: rx[3],
      tx_bytes: tx[0], tx_packets: tx[1], tx_errors: tx[2], tx_dropped: tx[3],
    };
  }
  return out;
}
