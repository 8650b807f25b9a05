/*
 * The engine's runtime seam. Two levels:
 *
 *  - High level (what the container manager calls): `run(spec)` starts one container from a normalized
 *    `ContainerRunSpec` (bundle.ts turns it into an OCI config.json, the rootfs mounts are performed for the
 *    lifetime of the process) and hands back a `ContainerProcess`: stdio streams, resize, kill, and `exited`,
 *    which settles with the exact exit code and the OOM verdict once all output has been drained.
 *    `exec(id, bundleDir, spec)` runs one more process in a running container the same way.
 *  - Low level (runc's verbs): create/start/kill/pause/resume/state/ps/delete/list, for `docker pause`, `top`,
 *    start-up reconciliation and tests.
 *
 * I/O model (runc-runtime.ts): each container runs as `runc run` in the FOREGROUND, a child of the engine.
 *  - without a TTY runc gets pipes: stdout and stderr are separate streams, stdin is a pipe when `openStdin`
 *    and /dev/null otherwise;
 *  - with a TTY runc runs inside a pty (node-pty) and relays the container's console: `stdout` carries the
 *    merged output, `stdin` feeds the terminal (ending it sends ^D), `resize` reaches the container (runc
 *    re-reads its window size on SIGWINCH).
 *  Output is buffered from the first byte (the streams are created before the process starts), so a
 *  short-lived container never loses output to a late reader; read them or pipe them promptly.
 *  Consequence: containers do not outlive the engine process. On engine shutdown the manager stops them; after
 *  a crash, `cleanup(id, bundleDir)` removes what was left (runc state, the rootfs mount), and restart policies
 *  start them again. (Keeping containers across restarts needs a shim that owns the stdio and reaps the
 *  process; Node cannot be a subreaper nor receive a console fd, so that would be a native helper.)
 *
 * For the container manager (container-launcher.ts's ContainerLauncher maps one to one): LaunchRequest is a
 * ContainerRunSpec (mounts/etc are optional extras), LaunchedProcess a ContainerProcess; launch -> run,
 * exec -> exec, kill -> kill (signals the init directly while it runs), pause/resume, pids -> ps, cleanup ->
 * cleanup, runtimeName -> name. bundle.ts writes hostname/hosts/resolv.conf into bundleDir itself. At engine
 * start: `cleanup(id, bundleDir)` for every known container, then snapshots/mount.ts `unmountUnder(engineRoot)`.
 *
 * Exit codes follow docker: the process's status, 128+N when killed by signal N (137 for SIGKILL and for the
 * OOM killer). A command that cannot be started rejects `run`/`exec` with `ProcessStartError` (exitCode 127 for
 * a missing executable, 126 when it is not executable, 128 otherwise) whose message is worded like moby's.
 */
import type { Readable, Writable } from 'node:stream';
import type { Mount } from '../snapshots/snapshotter.ts';
import type { EtcOptions, NetworkMode } from './bundle-files.ts';
import type { CgroupStats } from './cgroup-stats.ts';
import type { HostOptions } from './spec-options.ts';

export type { NetworkMode };

/** Resource limits, in docker's HostConfig units. Zero (or null) means "not set". */
export interface ResourceLimits {
  /** Bytes. */
  memory: number;
  /** Bytes of memory+swap; 0 = twice `memory` (docker's default), -1 = unlimited swap. Needs swap accounting. */
  memorySwap: number;
  /** CPUs × 1e9 (`--cpus`); wins over cpuQuota/cpuPeriod. */
  nanoCpus: number;
  /** Relative weight (`--cpu-shares`, default 1024). */
  cpuShares: number;
  /** Microseconds per period (`--cpu-quota`). */
  cpuQuota: number;
  /** Microseconds (`--cpu-period`, default 100000). */
  cpuPeriod: number;
  /** `--pids-limit`; null, 0 or negative = unlimited. */
  pidsLimit: number | null;
  /** 10..1000 (`--blkio-weight`). Applied when the kernel's blkio controller offers a weight file. */
  blkioWeight: number;
  /** Bytes (`--memory-reservation`, a soft limit); 0 = none. */
  memoryReservation?: number;
  /** `--cpuset-cpus` / `--cpuset-mems` lists ("0-1,3"); '' = all. */
  cpusetCpus?: string;
  cpusetMems?: string;
}

/** A host path bind-mounted into the container (`-v /host:/ctr[:ro]`, named volumes resolved to a path). */
export interface BindMount {
  source: string;
  destination: string;
  readonly?: boolean;
  /** Mount propagation (`rprivate` when absent). */
  propagation?: string;
  /** A tmpfs instead of a bind (`--tmpfs`, `--mount type=tmpfs`): `source` is ignored, `options` are tmpfs's. */
  tmpfs?: { options: string[] };
}

/** Everything needed to start a container's main process. */
export interface ContainerRunSpec {
  /** Container id (64 hex); also the runc id and the cgroup name (/wharf/<id>). */
  id: string;
  /**
   * Directory owned by the runtime for this container: config.json, rootfs/ (the mount point), hostname,
   * hosts, resolv.conf, runc.log. Created when missing. Must be under the engine root.
   */
  bundleDir: string;
  /** The container's root filesystem, as the snapshotter returned it (mounted for the lifetime of the run). */
  rootfs: Mount[];
  args: string[];
  /** Complete environment (`KEY=value`), PATH included. HOME is added from passwd when missing. */
  env: string[];
  cwd: string;
  /** docker's `--user`: '' (root), `name`, `uid`, `uid:gid`, `name:group`; resolved against the image's passwd. */
  user: string;
  hostname: string;
  domainname: string;
  terminal: boolean;
  /** [rows, cols] of the terminal; ignored without one. */
  consoleSize?: [number, number];
  /** Give the process a stdin pipe; otherwise stdin is /dev/null (without a terminal). */
  openStdin: boolean;
  network: NetworkMode;
  /** With `private`: the network namespace to join (a bind-mounted nsfs path) instead of a new one. */
  netnsPath?: string;
  resources: ResourceLimits;
  privileged: boolean;
  readonlyRootfs: boolean;
  /** Capability names with or without `CAP_`, any case; `ALL` allowed. */
  capAdd: string[];
  capDrop: string[];
  /** Docker's default seccomp profile (seccomp.ts) unless 'unconfined'; never with `privileged`. */
  seccomp?: 'default' | 'unconfined';
  /** `--security-opt no-new-privileges`: setuid binaries and file capabilities grant nothing. */
  noNewPrivileges?: boolean;
  /** Extra bind mounts (volumes). */
  mounts?: BindMount[];
  /** `--init`: the host path of docker-init, bound read-only at /sbin/docker-init and run as PID 1. */
  init?: string;
  /** HostConfig options applied to the OCI spec as moby does (spec-options.ts): groups, rlimits, namespaces, devices. */
  hostOptions?: HostOptions;
  /** What /etc/hosts and /etc/resolv.conf say besides the name (addresses, `--add-host`, links, `--dns*`). */
  etc?: EtcOptions;
}

/** What the host's cgroups can enforce; the engine warns about and drops a limit it cannot (moby's sysinfo). */
export interface ResourceSupport {
  swapLimit: boolean;
  blkioWeight: boolean;
  cpuQuota: boolean;
  pidsLimit: boolean;
  /** `--memory-swappiness` (v1 memory.swappiness); absent: not enforceable. */
  swappiness?: boolean;
  /** `--blkio-weight-device` (a per-device weight file). */
  blkioWeightDevice?: boolean;
  /** `--device-read-bps` and the other per-device throttles. */
  blkioThrottle?: boolean;
}

export interface ExitInfo {
  /** The status `docker wait` reports: the exit status, or 128 + signal number. */
  exitCode: number;
  /** The kernel's OOM killer killed a process of the container's cgroup (memory-limited containers only). */
  oomKilled: boolean;
}

/** A running container or exec process. */
export interface ContainerProcess {
  /** Host pid of the container's process (as runc reports it). */
  readonly pid: number;
  /** Present when `openStdin` (pipes) or always with a terminal. Ending it closes the process's stdin. */
  stdin?: Writable;
  /** stdout; with a terminal, the console output (stderr merged). Ends when the process exits. */
  stdout: Readable;
  /** stderr; undefined with a terminal. */
  stderr?: Readable;
  /** Resizes the terminal (rows, cols). A no-op without one or with zero sizes. */
  resize(rows: number, cols: number): void;
  /** Sends a signal (number or name like 'TERM' / 'SIGTERM') to the process. */
  kill(signal: number | string): Promise<void>;
  /**
   * Settles once the process exited, its output streams ended and the runtime cleaned up after it (the rootfs
   * is unmounted, runc state removed). Never rejects.
   */
  readonly exited: Promise<ExitInfo>;
}

/** One extra process in a running container (`docker exec`). */
export interface ExecSpec {
  /** Unique per container; names the process spec and pid files in the bundle. */
  execId: string;
  args: string[];
  /** The complete environment. HOME is added from passwd when missing. */
  env: string[];
  cwd: string;
  /** Same syntax as ContainerRunSpec.user; '' = the container's user. */
  user: string;
  terminal: boolean;
  consoleSize?: [number, number];
  openStdin: boolean;
  /** All capabilities the engine holds. */
  privileged: boolean;
}

export type RuntimeStatus = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

export interface RuntimeProcessState {
  id: string;
  pid: number;
  status: RuntimeStatus;
  bundle: string;
}

/** `run`/`exec` could not start the command. `exitCode` is what docker reports for it (127, 126 or 128). */
export class ProcessStartError extends Error {
  readonly exitCode: number;

  constructor(message: string, options: { exitCode: number; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.name = 'ProcessStartError';
    this.exitCode = options.exitCode;
  }
}

export interface Runtime {
  readonly name: string;
  readonly support: ResourceSupport;

  // ---- high level ----
  /** Writes the bundle, mounts the rootfs and starts the container's process. Throws ProcessStartError. */
  run(spec: ContainerRunSpec): Promise<ContainerProcess>;
  /** Starts an extra process in running container `id` whose bundle is `bundleDir`. Throws ProcessStartError. */
  exec(id: string, bundleDir: string, spec: ExecSpec): Promise<ContainerProcess>;
  /** Removes what a dead run left for `id`: runc state (killing leftovers), the rootfs mount. Idempotent. */
  cleanup(id: string, bundleDir: string): Promise<void>;

  // ---- low level (runc verbs) ----
  /**
   * Creates container `id` from an existing bundle without starting it (`runc create`); its stdio is
   * /dev/null. For tests and tools; containers of the engine go through `run`.
   */
  create(id: string, options: { bundle: string; pidFile?: string }): Promise<void>;
  start(id: string): Promise<void>;
  /** Signals the container's init (`all`: every process). Fault not-found when there is no such container. */
  kill(id: string, signal: string | number, options?: { all?: boolean }): Promise<void>;
  /** Freezes every process (cgroup freezer). Fault conflict when not running. */
  pause(id: string): Promise<void>;
  resume(id: string): Promise<void>;
  /** undefined when runc has no such container. */
  state(id: string): Promise<RuntimeProcessState | undefined>;
  /** Host pids inside the container (for `docker top`). */
  ps(id: string): Promise<number[]>;
  /** Removes runtime state; `force` kills first. No-op when absent. */
  delete(id: string, options?: { force?: boolean }): Promise<void>;
  /** Every container runc knows under this runtime's state root. */
  list(): Promise<RuntimeProcessState[]>;
  /**
   * Changes a running container's cgroup limits (`runc update`): `resources` is an OCI LinuxResources object in
   * which an absent or zero value leaves that limit as it is. Fault not-found without such a container;
   * the kernel's refusal (a limit below current usage) is a plain Error carrying runc's message.
   */
  update(id: string, resources: Record<string, unknown>): Promise<void>;
  /** The container's cgroup counters (`docker stats`), read from the cgroup files; undefined once it is gone. `cgroupParent`: its `--cgroup-parent`. */
  stats(id: string, cgroupParent?: string): Promise<CgroupStats | undefined>;
}
