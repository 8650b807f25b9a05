import type { Readable, Writable } from 'node:stream';
import type { Mount } from '../snapshots/snapshotter.ts';

/**
 * What the container manager needs from the lower half to run one container process: a bundle from the
 * rootfs mounts and the container's settings, started under runc with pipes or a pty. The adapter over
 * runtime.ts / runc-runtime.ts / bundle.ts lives in container-runc-launcher.ts.
 */
export interface LaunchRequest {
  id: string;
  /** Directory the launcher may use for the OCI bundle (config.json, rootfs mount point). */
  bundleDir: string;
  rootfs: Mount[];
  args: string[];
  env: string[];
  cwd: string;
  user: string;
  hostname: string;
  domainname: string;
  terminal: boolean;
  /** [rows, cols] of the pty; ignored without a terminal. */
  consoleSize?: [number, number];
  /** Give the process a stdin pipe (OpenStdin); otherwise stdin is /dev/null. */
  openStdin: boolean;
  network: 'none' | 'host' | 'private';
  resources: {
    memory: number;
    memorySwap: number;
    nanoCpus: number;
    cpuShares: number;
    cpuQuota: number;
    cpuPeriod: number;
    pidsLimit: number | null;
    blkioWeight: number;
  };
  privileged: boolean;
  readonlyRootfs: boolean;
  capAdd: string[];
  capDrop: string[];
}

export interface ExitInfo {
  exitCode: number;
  oomKilled: boolean;
}

export interface LaunchedProcess {
  pid: number;
  stdin?: Writable;
  /** With a terminal, the pty's output (stderr merged). */
  stdout: Readable;
  stderr?: Readable;
  resize(rows: number, cols: number): void;
  /** Resolves after the process exited and its output streams are drained; the runtime state is cleaned up. */
  exited: Promise<ExitInfo>;
}

/** One `docker exec` process in a running container. */
export interface ExecRequest {
  execId: string;
  args: string[];
  /** The complete environment (the container's, then the exec's overrides). */
  env: string[];
  cwd: string;
  /** Empty: the container's user. */
  user: string;
  terminal: boolean;
  consoleSize?: [number, number];
  openStdin: boolean;
  privileged: boolean;
}

export interface ContainerLauncher {
  readonly runtimeName: string;
  /** Starts the process; throws (message as runc words it: `exec: "x": executable file not found`) when it cannot. */
  launch(request: LaunchRequest): Promise<LaunchedProcess>;
  kill(id: string, signal: number): Promise<void>;
  pause(id: string): Promise<void>;
  resume(id: string): Promise<void>;
  /** Starts a process in running container `id` (whose launch used `bundleDir`). Throws like `launch`. */
  exec(id: string, bundleDir: string, request: ExecRequest): Promise<LaunchedProcess>;
  /** Host pids of the container's processes. */
  pids(id: string): Promise<number[]>;
  /** Removes whatever a crashed engine left behind for `id` (runtime state, the rootfs mount). No-op when clean. */
  cleanup(id: string, bundleDir: string): Promise<void>;
}
