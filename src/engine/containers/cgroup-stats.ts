/*
 * A container's cgroup counters in moby's stats shapes (api/types/stats.go), read the way containerd's cgroups
 * library reads them for moby's statsV1 / statsV2 (daemon/daemon_unix.go): plain file reads, no process spawned.
 * The parsers take file texts so they are tested on fixtures; `readCgroupStats` only fetches the texts.
 */
import { cgroupDir, readCgroupFile, type CgroupHost } from './cgroups.ts';

export interface BlkioStatEntry {
  major: number;
  minor: number;
  op: string;
  value: number;
}

export interface BlkioStats {
  io_service_bytes_recursive: BlkioStatEntry[] | null;
  io_serviced_recursive: BlkioStatEntry[] | null;
  io_queue_recursive: BlkioStatEntry[] | null;
  io_service_time_recursive: BlkioStatEntry[] | null;
  io_wait_time_recursive: BlkioStatEntry[] | null;
  io_merged_recursive: BlkioStatEntry[] | null;
  io_time_recursive: BlkioStatEntry[] | null;
  sectors_recursive: BlkioStatEntry[] | null;
}

export interface CpuStats {
  cpu_usage: { total_usage: number; percpu_usage?: number[]; usage_in_kernelmode: number; usage_in_usermode: number };
  system_cpu_usage?: number;
  online_cpus?: number;
  throttling_data: { periods: number; throttled_periods: number; throttled_time: number };
}

export interface MemoryStats {
  usage?: number;
  max_usage?: number;
  stats?: Record<string, number>;
  failcnt?: number;
  limit?: number;
}

export interface PidsStats {
  current?: number;
  limit?: number;
}

/** What the cgroup tells; the daemon adds the system's CPU time, the networks and the times. */
export interface CgroupStats {
  pids_stats: PidsStats;
  blkio_stats: BlkioStats;
  cpu_stats: CpuStats;
  memory_stats: MemoryStats;
}

/** USER_HZ: cpuacct.stat counts in these ticks (containerd's getClockTicks). */
const clockTicks = 100;

/** The memory.stat keys moby's statsV1 copies, in its order. */
const v1MemoryKeys = [
  'cache', 'rss', 'rss_huge', 'mapped_file', 'dirty', 'writeback', 'pgpgin', 'pgpgout', 'pgfault', 'pgmajfault',
  'inactive_anon', 'active_anon', 'inactive_file', 'active_file', 'unevictable', 'hierarchical_memory_limit',
  'hierarchical_memsw_limit', 'total_cache', 'total_rss', 'total_rss_huge', 'total_mapped_file', 'total_dirty',
  'total_writeback', 'total_pgpgin', 'total_pgpgout', 'total_pgfault', 'total_pgmajfault', 'total_inactive_anon',
  'total_active_anon', 'total_inactive_file', 'total_active_file', 'total_unevictable',
];

/** The memory.stat keys moby's statsV2 copies (containerd's v2 MemoryStat, moby's names). */
const v2MemoryKeys: [file: string, moby: string][] = [
  ['anon', 'anon'], ['file', 'file'], ['kernel_stack', 'kernel_stack'], ['slab', 'slab'], ['sock', 'sock'], ['shmem', 'shmem'],
  ['file_mapped', 'file_mapped'], ['file_dirty', 'file_dirty'], ['file_writeback', 'file_writeback'], ['anon_thp', 'anon_thp'],
  ['inactive_anon', 'inactive_anon'], ['active_anon', 'active_anon'], ['inactive_file', 'inactive_file'], ['active_file', 'active_file'],
  ['unevictable', 'unevictable'], ['slab_reclaimable', 'slab_reclaimable'], ['slab_unreclaimable', 'slab_unreclaimable'],
  ['pgfault', 'pgfault'], ['pgmajfault', 'pgmajfault'], ['workingset_refault_file', 'workingset_refault'],
  ['workingset_activate_file', 'workingset_activate'], ['workingset_nodereclaim', 'workingset_nodereclaim'], ['pgrefill', 'pgrefill'],
  ['pgscan', 'pgscan'], ['pgsteal', 'pgsteal'], ['pgactivate', 'pgactivate'], ['pgdeactivate', 'pgdeactivate'],
  ['pglazyfree', 'pglazyfree'], ['pglazyfreed', 'pglazyfreed'], ['thp_fault_alloc', 'thp_fault_alloc'], ['thp_collapse_alloc', 'thp_collapse_alloc'],
];

export function emptyBlkioStats(): BlkioStats {
  return {
    io_service_bytes_recursive: null,
    io_serviced_recursive: null,
    io_queue_recursive: null,
    io_service_time_recursive: null,
    io_wait_time_recursive: null,
    io_merged_recursive: null,
    io_time_recursive: null,
    sectors_recursive: null,
  };
}

export function emptyCpuStats(): CpuStats {
  return { cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 }, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } };
}

/** `key value` lines (memory.stat, cpu.stat, cpuacct.stat, memory.events) as numbers. */
export function parseFlatKeyed(text: string | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of (text ?? '').split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value !== undefined && /^\d+$/.test(value)) out.set(key, Number(value));
  }
  return out;
}

/** A single-number file; `max` (no limit) and absence are 0, as containerd reads pids.max. */
export function parseSingle(text: string | undefined): number {
  const value = text?.trim();
  return value && /^\d+$/.test(value) ? Number(value) : 0;
}

/** v1 blkio `MAJ:MIN Op value` lines; the closing `Total N` line is skipped, as containerd's readEntry does. */
export function parseBlkioV1(text: string | undefined): BlkioStatEntry[] {
  const out: BlkioStatEntry[] = [];
  for (const line of (text ?? '').split('\n')) {
    const fields = line.trim().split(/\s+/);
    const device = /^(\d+):(\d+)$/.exec(fields[0] ?? '');
    if (!device || fields.length < 2) continue;
    const [op, value] = fields.length >= 3 ? [fields[1], fields[2]] : ['', fields[1]];
    out.push({ major: Number(device[1]), minor: Number(device[2]), op, value: Number(value) });
  }
  return out;
}

/** v2 io.stat (`MAJ:MIN rbytes=… wbytes=… …`) as moby's statsV2 reports it: read and write bytes per device. */
export function parseIoStatV2(text: string | undefined): BlkioStatEntry[] {
  const out: BlkioStatEntry[] = [];
  for (const line of (text ?? '').split('\n')) {
    const [dev, ...pairs] = line.trim().split(/\s+/);
    const device = /^(\d+):(\d+)$/.exec(dev ?? '');
    if (!device) continue;
    const values = new Map(pairs.map((p) => p.split('=') as [string, string]));
    const entry = (op: string, key: string) => ({ major: Number(device[1]), minor: Number(device[2]), op, value: Number(values.get(key) ?? 0) });
    out.push(entry('read', 'rbytes'), entry('write', 'wbytes'));
  }
  return out;
}

/** The cgroup v1 files of one container, by name. */
export interface V1Files {
  cpuacctUsage?: string;
  cpuacctPercpu?: string;
  cpuacctStat?: string;
  cpuStat?: string;
  memoryStat?: string;
  memoryUsage?: string;
  memoryMaxUsage?: string;
  memoryFailcnt?: string;
  memoryLimit?: string;
  pidsCurrent?: string;
  pidsMax?: string;
  blkio: Record<string, string | undefined>;
}

export function statsV1(files: V1Files): CgroupStats {
  const acct = parseFlatKeyed(files.cpuacctStat);
  const cpu = parseFlatKeyed(files.cpuStat);
  const percpu = (files.cpuacctPercpu ?? '').trim().split(/\s+/).filter(Boolean).map(Number);
  const memory = parseFlatKeyed(files.memoryStat);
  return {
    pids_stats: pidsStats(files.pidsCurrent, files.pidsMax),
    blkio_stats: blkioV1(files.blkio),
    cpu_stats: {
      cpu_usage: {
        total_usage: parseSingle(files.cpuacctUsage),
        ...(percpu.length ? { percpu_usage: percpu } : {}),
        usage_in_kernelmode: ((acct.get('system') ?? 0) * 1e9) / clockTicks,
        usage_in_usermode: ((acct.get('user') ?? 0) * 1e9) / clockTicks,
      },
      throttling_data: { periods: cpu.get('nr_periods') ?? 0, throttled_periods: cpu.get('nr_throttled') ?? 0, throttled_time: cpu.get('throttled_time') ?? 0 },
    },
    memory_stats: omitZero({
      usage: parseSingle(files.memoryUsage),
      max_usage: parseSingle(files.memoryMaxUsage),
      stats: sortedRecord(v1MemoryKeys.map((k) => [k, memory.get(k) ?? 0])),
      failcnt: parseSingle(files.memoryFailcnt),
      limit: parseSingle(files.memoryLimit),
    }),
  };
}

/** The CFQ `blkio.*_recursive` files when they hold entries, otherwise the throttle files (containerd's order). */
function blkioV1(files: Record<string, string | undefined>): BlkioStats {
  const cfq = {
    io_service_bytes_recursive: parseBlkioV1(files['blkio.io_service_bytes_recursive']),
    io_serviced_recursive: parseBlkioV1(files['blkio.io_serviced_recursive']),
    io_queue_recursive: parseBlkioV1(files['blkio.io_queued_recursive']),
    io_service_time_recursive: parseBlkioV1(files['blkio.io_service_time_recursive']),
    io_wait_time_recursive: parseBlkioV1(files['blkio.io_wait_time_recursive']),
    io_merged_recursive: parseBlkioV1(files['blkio.io_merged_recursive']),
    io_time_recursive: parseBlkioV1(files['blkio.time_recursive']),
    sectors_recursive: parseBlkioV1(files['blkio.sectors_recursive']),
  };
  if (Object.values(cfq).some((entries) => entries.length > 0)) return cfq;
  // moby's copyBlkioEntry makes every list, empty ones too: `[]`, never null, once the cgroup was read.
  const empty = Object.fromEntries(Object.keys(cfq).map((key) => [key, []])) as unknown as BlkioStats;
  return {
    ...empty,
    io_service_bytes_recursive: parseBlkioV1(files['blkio.throttle.io_service_bytes_recursive']),
    io_serviced_recursive: parseBlkioV1(files['blkio.throttle.io_serviced_recursive']),
  };
}

/** The cgroup v2 files of one container, by name. */
export interface V2Files {
  cpuStat?: string;
  memoryStat?: string;
  memoryCurrent?: string;
  memoryMax?: string;
  memoryEvents?: string;
  pidsCurrent?: string;
  pidsMax?: string;
  ioStat?: string;
}

export function statsV2(files: V2Files): CgroupStats {
  const cpu = parseFlatKeyed(files.cpuStat);
  const memory = parseFlatKeyed(files.memoryStat);
  const io = parseIoStatV2(files.ioStat);
  const limit = files.memoryMax?.trim() === 'max' ? Number.MAX_SAFE_INTEGER : parseSingle(files.memoryMax);
  return {
    pids_stats: pidsStats(files.pidsCurrent, files.pidsMax),
    blkio_stats: { ...emptyBlkioStats(), io_service_bytes_recursive: io.length ? io : null },
    cpu_stats: {
      cpu_usage: {
        total_usage: (cpu.get('usage_usec') ?? 0) * 1000,
        usage_in_kernelmode: (cpu.get('system_usec') ?? 0) * 1000,
        usage_in_usermode: (cpu.get('user_usec') ?? 0) * 1000,
      },
      throttling_data: { periods: cpu.get('nr_periods') ?? 0, throttled_periods: cpu.get('nr_throttled') ?? 0, throttled_time: (cpu.get('throttled_usec') ?? 0) * 1000 },
    },
    memory_stats: omitZero({
      usage: parseSingle(files.memoryCurrent),
      stats: sortedRecord(v2MemoryKeys.map(([file, moby]) => [moby, memory.get(file) ?? 0])),
      failcnt: parseFlatKeyed(files.memoryEvents).get('oom') ?? 0,
      limit,
    }),
  };
}

function pidsStats(current: string | undefined, max: string | undefined): PidsStats {
  return omitZero({ current: parseSingle(current), limit: parseSingle(max) });
}

/** Go encodes a map with its keys sorted. */
function sortedRecord(entries: [string, number][]): Record<string, number> {
  return Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Go's `omitempty` on the numeric fields of moby's structs. */
function omitZero<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== 0 && v !== undefined)) as T;
}

/** Container `id`'s counters, or undefined when its cgroup is gone (not running). */
export async function readCgroupStats(host: CgroupHost, id: string, parent = ''): Promise<CgroupStats | undefined> {
  return host.version === 2 ? readV2(host, id, parent) : readV1(host, id, parent);
}

async function readV1(host: CgroupHost, id: string, parent: string): Promise<CgroupStats | undefined> {
  const dir = (controller: string) => cgroupDir(host, id, controller, parent);
  const [cpuacct, cpu, memory, pids, blkio] = ['cpuacct', 'cpu', 'memory', 'pids', 'blkio'].map(dir);
  const memoryUsage = await readCgroupFile(memory, 'memory.usage_in_bytes');
  if (memoryUsage === undefined) return undefined;
  const blkioNames = [
    'io_service_bytes_recursive', 'io_serviced_recursive', 'io_queued_recursive', 'io_service_time_recursive', 'io_wait_time_recursive',
    'io_merged_recursive', 'time_recursive', 'sectors_recursive', 'throttle.io_serviced_recursive', 'throttle.io_service_bytes_recursive',
  ].map((name) => `blkio.${name}`);
  const [texts, blkioTexts] = await Promise.all([
    Promise.all([
      readCgroupFile(cpuacct, 'cpuacct.usage'),
      readCgroupFile(cpuacct, 'cpuacct.usage_percpu'),
      readCgroupFile(cpuacct, 'cpuacct.stat'),
      readCgroupFile(cpu, 'cpu.stat'),
      readCgroupFile(memory, 'memory.stat'),
      readCgroupFile(memory, 'memory.max_usage_in_bytes'),
      readCgroupFile(memory, 'memory.failcnt'),
      readCgroupFile(memory, 'memory.limit_in_bytes'),
      readCgroupFile(pids, 'pids.current'),
      readCgroupFile(pids, 'pids.max'),
    ]),
    Promise.all(blkioNames.map((name) => readCgroupFile(blkio, name))),
  ]);
  const [cpuacctUsage, cpuacctPercpu, cpuacctStat, cpuStat, memoryStat, memoryMaxUsage, memoryFailcnt, memoryLimit, pidsCurrent, pidsMax] = texts;
  return statsV1({
    cpuacctUsage, cpuacctPercpu, cpuacctStat, cpuStat, memoryStat, memoryUsage, memoryMaxUsage, memoryFailcnt, memoryLimit, pidsCurrent, pidsMax,
    blkio: Object.fromEntries(blkioNames.map((name, i) => [name, blkioTexts[i]])),
  });
}

async function readV2(host: CgroupHost, id: string, parent: string): Promise<CgroupStats | undefined> {
  const dir = cgroupDir(host, id, '', parent);
  const memoryCurrent = await readCgroupFile(dir, 'memory.current');
  if (memoryCurrent === undefined) return undefined;
  const names = ['cpu.stat', 'memory.stat', 'memory.max', 'memory.events', 'pids.current', 'pids.max', 'io.stat'];
  const [cpuStat, memoryStat, memoryMax, memoryEvents, pidsCurrent, pidsMax, ioStat] = await Promise.all(names.map((name) => readCgroupFile(dir, name)));
  return statsV2({ cpuStat, memoryStat, memoryCurrent, memoryMax, memoryEvents, pidsCurrent, pidsMax, ioStat });
}
