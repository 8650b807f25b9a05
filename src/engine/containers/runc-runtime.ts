/*
 * Runtime over runc (`runc --root <engine root>/runc`). See runtime.ts for the I/O model and why containers run
 * as foreground `runc run` children of the engine.
 *
 * One shell per run mounts the rootfs, runs runc, and unmounts after it: every spawn from a large Node
 * process costs milliseconds of `docker run` latency, and the unmount happens even if the engine dies
 * meanwhile. A memory-limited container runs with `--keep`, so that the shell can save the cgroup's OOM-kill
 * counter before deleting it. Mount errors go to mount.err and exit 213 before runc starts.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, watch } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { Fault } from '../../base/fault.ts';
import type { Logger } from '../../base/log.ts';
import { isMountPoint, mountAll, mountCommand, unmount } from '../snapshots/mount.ts';
import type { Mount } from '../snapshots/snapshotter.ts';
import { readRootfsFile, resolveUser } from './bundle-files.ts';
import { capabilitiesInMask, execProcessSpec, nofileLimit, writeBundle, type BundleHost } from './bundle.ts';
import { readCgroupStats, type CgroupStats } from './cgroup-stats.ts';
import { parseSpec, serializeSpec } from './spec-options.ts';
import { detectCgroups, oomCounterFile, parseOomKills, type CgroupHost } from './cgroups.ts';
import { spawnWithPipes, spawnWithPty, type Command, type SpawnedProcess } from './process-io.ts';
import {
  ProcessStartError,
  type ContainerProcess,
  type ContainerRunSpec,
  type ExecSpec,
  type ExitInfo,
  type ResourceSupport,
  type Runtime,
  type RuntimeProcessState,
} from './runtime.ts';

const run = promisify(execFile);
const systemPath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const mountFailed = 213;
const idPattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export interface RuncRuntimeOptions {
  /** Engine data root; runc keeps its state under <root>/runc. */
  root: string;
  logger?: Logger;
  /** The runc binary (default `runc` on PATH). */
  runc?: string;
  /** Host cgroup facts (default: detected from /sys/fs/cgroup). */
  cgroups?: CgroupHost;
}

// mount(8) argv is word-split by the run shell: allowed only when no argument needs quoting.
const shellSafe = /^[A-Za-z0-9_./:=,+@%-]+$/;

const runScript = [
  'set -f',
  'if [ -n "$WHARF_MOUNT" ]; then',
  '  if [ -n "$WHARF_MOUNT_CWD" ]; then cd "$WHARF_MOUNT_CWD" || exit 213; fi',
  '  mount $WHARF_MOUNT "$WHARF_BUNDLE/rootfs" 2>"$WHARF_BUNDLE/mount.err" || exit 213',
  '  cd /',
  'fi',
  'if [ -n "$WHARF_TTY" ]; then stty raw -echo 2>/dev/null; fi',
  '"$@"; rc=$?',
  'if [ -n "$WHARF_OOM" ]; then',
  '  cat "$WHARF_OOM" >"$WHARF_BUNDLE/oom" 2>/dev/null',
  '  "$1" --root "$WHARF_STATE" delete --force "$WHARF_ID" >/dev/null 2>&1',
  'fi',
  'if [ -n "$WHARF_MOUNT" ]; then umount "$WHARF_BUNDLE/rootfs" 2>/dev/null || umount -l "$WHARF_BUNDLE/rootfs" 2>/dev/null; fi',
  'exit $rc',
].join('\n');

export class RuncRuntime implements Runtime {
  readonly name = 'runc';
  #stateRoot: string;
  #runc: string;
  #logger: Logger | undefined;
  #host: BundleHost;
  /** Host pid of each container and exec process we started and that still runs: signals skip a runc spawn. */
  #pids = new Map<string, number>();

  constructor(options: RuncRuntimeOptions) {
    this.#stateRoot = join(options.root, 'runc');
    this.#runc = options.runc ?? 'runc';
    this.#logger = options.logger;
    const capBnd = /CapBnd:\s*([0-9a-f]+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '';
    this.#host = {
      cgroups: options.cgroups ?? detectCgroups(),
      bounding: capabilitiesInMask(capBnd),
      nofile: nofileLimit(readFileSync('/proc/self/limits', 'utf8')),
    };
  }

  get support(): ResourceSupport {
    const { swapAccounting, blkioWeight, cpuQuota, pids, swappiness, blkioWeightDevice, blkioThrottle } = this.#host.cgroups;
    return { swapLimit: swapAccounting, blkioWeight, cpuQuota, pidsLimit: pids, swappiness, blkioWeightDevice, blkioThrottle };
  }

  get host(): BundleHost {
    return this.#host;
  }

  #args(...args: string[]): string[] {
    return ['--root', this.#stateRoot, ...args];
  }

  // ---------------------------------------------------------------- high level

  async run(spec: ContainerRunSpec): Promise<ContainerProcess> {
    validateId(spec.id);
    const bundle = spec.bundleDir;
    await this.cleanup(spec.id, bundle);
    await Promise.all([
      writeBundle(spec, this.#host),
      ...['runc.log', 'pid', 'oom', 'mount.err'].map((f) => rm(join(bundle, f), { force: true })),
    ]);
    const { command, mountedByUs } = await this.#runCommand(spec);
    const spawned = spec.terminal ? await spawnWithPty(command, { consoleSize: spec.consoleSize }) : spawnWithPipes(command, { openStdin: spec.openStdin });
    let pid: number;
    try {
      pid = await waitForPid(join(bundle, 'pid'), spawned.exited);
    } catch (err) {
      if (mountedByUs) await unmount(join(bundle, 'rootfs')).catch(() => undefined);
      await this.#deleteState(spec.id);
      throw await startError(err, { bundle, log: join(bundle, 'runc.log'), what: 'create' });
    }
    this.#pids.set(spec.id, pid);
    const exited = spawned.exited.then((code) => this.#finishRun(spec, code, mountedByUs));
    return this.#process(spec.id, pid, spawned, exited);
  }

  #process(key: string, pid: number, spawned: SpawnedProcess, exited: Promise<ExitInfo>): ContainerProcess {
    return {
      pid,
      stdin: spawned.stdin,
      stdout: spawned.stdout,
      stderr: spawned.stderr,
      resize: spawned.resize,
      kill: (signal) => this.#signalProcess(key, signal),
      exited,
    };
  }

  async #runCommand(spec: ContainerRunSpec): Promise<{ command: Command; mountedByUs: boolean }> {
    const bundle = spec.bundleDir;
    const env: Record<string, string> = { PATH: systemPath, WHARF_BUNDLE: bundle, WHARF_STATE: this.#stateRoot, WHARF_ID: spec.id };
    let mountedByUs = false;
    // A read-only bind needs a second (remount) call: mountAll does that.
    const plain = spec.rootfs.length === 1 && !(spec.rootfs[0].type === 'bind' && spec.rootfs[0].options.includes('ro'));
    const single = plain ? mountCommand(spec.rootfs[0]) : undefined;
    if (single && single.args.every((a) => shellSafe.test(a)) && shellSafe.test(bundle)) {
      env.WHARF_MOUNT = single.args.join(' ');
      if (single.cwd) env.WHARF_MOUNT_CWD = single.cwd;
    } else if (spec.rootfs.length) {
      // Unusual paths or several mounts: mount from here (one spawn per mount) and unmount in #finishRun.
      await mountAll(spec.rootfs, join(bundle, 'rootfs'));
      mountedByUs = true;
    }
    if (spec.terminal) env.WHARF_TTY = '1';
    // --keep leaves the cgroup (and runc state) for the shell to read the OOM counter; only a memory limit needs it.
    const keep = spec.resources.memory > 0;
    if (keep) env.WHARF_OOM = oomCounterFile(this.#host.cgroups, spec.id, spec.hostOptions?.cgroupParent);
    const runc = [
      this.#runc,
      ...this.#args('--log', join(bundle, 'runc.log'), '--log-format', 'json', 'run', ...(keep ? ['--keep'] : []), '--pid-file', join(bundle, 'pid'), '--bundle', bundle, spec.id),
    ];
    return { command: { file: '/bin/sh', args: ['-c', runScript, 'wharf-run', ...runc], env }, mountedByUs };
  }

  async #finishRun(spec: ContainerRunSpec, exitCode: number, mountedByUs: boolean): Promise<ExitInfo> {
    this.#pids.delete(spec.id);
    const oomKilled = spec.resources.memory > 0 && parseOomKills(await readFile(join(spec.bundleDir, 'oom'), 'utf8').catch(() => '')) > 0;
    if (mountedByUs) await unmount(join(spec.bundleDir, 'rootfs')).catch((err) => this.#logger?.warn({ err, id: spec.id }, 'unmounting the rootfs failed'));
    // Normally runc removed its state itself; a killed runc leaves it.
    if (existsSync(join(this.#stateRoot, spec.id))) await this.#deleteState(spec.id);
    this.#logger?.debug({ id: spec.id, exitCode, oomKilled }, 'container exited');
    return { exitCode, oomKilled };
  }

  async exec(id: string, bundleDir: string, spec: ExecSpec): Promise<ContainerProcess> {
    validateId(id);
    if (!/^[A-Za-z0-9_.-]+$/.test(spec.execId)) throw new Fault('invalid-argument', `invalid exec id ${spec.execId}`);
    const container = parseSpec(await readFile(join(bundleDir, 'config.json'), 'utf8')) as { process: Record<string, unknown> };
    const rootfs: Mount[] = [{ type: 'bind', source: join(bundleDir, 'rootfs'), options: [] }];
    const containerUser = container.process.user as { uid: number; gid: number };
    const user = await resolveUser((path) => readRootfsFile(rootfs, path), spec.user || `${containerUser.uid}:${containerUser.gid}`);
    const base = join(bundleDir, `exec-${spec.execId}`);
    await writeFile(`${base}.json`, serializeSpec(execProcessSpec(container, spec, user, this.#host.bounding)));
    const runc = [this.#runc, ...this.#args('--log', `${base}.log`, '--log-format', 'json', 'exec', '--process', `${base}.json`, '--pid-file', `${base}.pid`, id)];
    const env = { PATH: systemPath };
    const spawned = spec.terminal
      ? await spawnWithPty({ file: '/bin/sh', args: ['-c', 'stty raw -echo 2>/dev/null; exec "$@"', 'wharf-exec', ...runc], env }, { consoleSize: spec.consoleSize })
      : spawnWithPipes({ file: runc[0], args: runc.slice(1), env }, { openStdin: spec.openStdin });
    const removeFiles = () => Promise.all(['.json', '.pid', '.log'].map((ext) => rm(`${base}${ext}`, { force: true })));
    let pid: number;
    try {
      pid = await waitForPid(`${base}.pid`, spawned.exited);
    } catch (err) {
      const error = await startError(err, { bundle: bundleDir, log: `${base}.log`, what: 'exec' });
      await removeFiles();
      throw error;
    }
    const key = `${id}/${spec.execId}`;
    this.#pids.set(key, pid);
    const exited = spawned.exited.then(async (exitCode) => {
      this.#pids.delete(key);
      await removeFiles();
      return { exitCode, oomKilled: false };
    });
    return this.#process(key, pid, spawned, exited);
  }

  async cleanup(id: string, bundleDir: string): Promise<void> {
    validateId(id);
    this.#pids.delete(id);
    if (existsSync(join(this.#stateRoot, id))) await this.#deleteState(id);
    const rootfs = join(bundleDir, 'rootfs');
    if (await isMountPoint(rootfs)) await unmount(rootfs);
  }

  async #deleteState(id: string): Promise<void> {
    await run(this.#runc, this.#args('delete', '--force', id)).catch((err) => {
      if (!/does not exist|not exist/.test(runcMessage(err))) this.#logger?.warn({ id, err: runcMessage(err) }, 'runc delete failed');
    });
  }

  /** A signal for a process we started: straight to its pid while it runs, else through runc. */
  async #signalProcess(key: string, signal: number | string): Promise<void> {
    const number = signalNumber(signal);
    const pid = this.#pids.get(key);
    if (pid) {
      try {
        process.kill(pid, number);
        return;
      } catch {
        // gone meanwhile: runc knows better
      }
    }
    if (key.includes('/')) throw new Fault('conflict', `process ${key} is not running`);
    await this.#runcKill(key, number, false);
  }

  // ---------------------------------------------------------------- low level

  async #call(verb: string, id: string, args: string[] = []): Promise<string> {
    validateId(id);
    try {
      return (await run(this.#runc, this.#args(verb, ...args, id))).stdout;
    } catch (err) {
      const message = runcMessage(err);
      if (/does not exist|not exist/.test(message)) throw new Fault('not-found', `container ${id} does not exist in runc`, { cause: err });
      throw new Fault('conflict', `runc ${verb} ${id}: ${message}`, { cause: err });
    }
  }

  async create(id: string, options: { bundle: string; pidFile?: string }): Promise<void> {
    validateId(id);
    const log = join(options.bundle, 'runc.log');
    await rm(log, { force: true });
    const args = this.#args('--log', log, '--log-format', 'json', 'create', '--bundle', options.bundle, ...(options.pidFile ? ['--pid-file', options.pidFile] : []), id);
    // The created container keeps runc's stdio: pipes of ours would never close, so it gets /dev/null and
    // errors are read from runc's log.
    const code = await new Promise<number>((resolve) => {
      const child = spawn(this.#runc, args, { stdio: 'ignore' });
      child.once('error', () => resolve(255));
      child.once('exit', (status) => resolve(status ?? 255));
    });
    if (code !== 0) throw await startError(new ExitedBeforeStart(code), { bundle: options.bundle, log, what: 'create' });
  }

  async start(id: string): Promise<void> {
    await this.#call('start', id);
  }

  async kill(id: string, signal: string | number, options: { all?: boolean } = {}): Promise<void> {
    const number = signalNumber(signal);
    // A container we run: signal its init directly (`docker stop` latency), runc only when we do not know it.
    const pid = options.all ? undefined : this.#pids.get(id);
    if (pid) {
      try {
        process.kill(pid, number);
        return;
      } catch {
        // exited meanwhile: let runc answer
      }
    }
    await this.#runcKill(id, number, options.all ?? false);
  }

  async #runcKill(id: string, signal: number, all: boolean): Promise<void> {
    validateId(id);
    try {
      await run(this.#runc, this.#args('kill', ...(all ? ['--all'] : []), id, String(signal)));
    } catch (err) {
      const message = runcMessage(err);
      if (/does not exist|not exist/.test(message)) throw new Fault('not-found', `container ${id} does not exist in runc`, { cause: err });
      throw new Fault('conflict', `cannot kill container ${id}: ${message}`, { cause: err });
    }
  }

  async pause(id: string): Promise<void> {
    await this.#call('pause', id);
  }

  async resume(id: string): Promise<void> {
    await this.#call('resume', id);
  }

  async state(id: string): Promise<RuntimeProcessState | undefined> {
    validateId(id);
    if (!existsSync(join(this.#stateRoot, id))) return undefined;
    try {
      return toState(JSON.parse(await this.#call('state', id)));
    } catch (err) {
      if (err instanceof Fault && err.kind === 'not-found') return undefined;
      throw err;
    }
  }

  async ps(id: string): Promise<number[]> {
    return (JSON.parse((await this.#call('ps', id, ['--format', 'json'])) || '[]') as number[] | null) ?? [];
  }

  async delete(id: string, options: { force?: boolean } = {}): Promise<void> {
    validateId(id);
    if (!existsSync(join(this.#stateRoot, id))) return;
    await this.#call('delete', id, options.force ? ['--force'] : []).catch((err) => {
      if (!(err instanceof Fault && err.kind === 'not-found')) throw err;
    });
  }

  async update(id: string, resources: Record<string, unknown>): Promise<void> {
    validateId(id);
    if (!existsSync(join(this.#stateRoot, id))) throw new Fault('not-found', `container ${id} does not exist in runc`);
    const child = spawn(this.#runc, this.#args('update', '--resources', '-', id), { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const code = new Promise<number>((resolve) => {
      child.on('error', () => resolve(-1));
      child.on('close', (status) => resolve(status ?? -1));
    });
    // runc may exit before reading (a missing binary, a bad id): the pipe's error is the exit status's to tell.
    await pipeline(Readable.from([JSON.stringify(resources)]), child.stdin).catch(() => undefined);
    if ((await code) !== 0) throw new Error(runcMessage({ stderr }) || `runc update exited with ${await code}`);
  }

  stats(id: string, cgroupParent = ''): Promise<CgroupStats | undefined> {
    validateId(id);
    return readCgroupStats(this.#host.cgroups, id, cgroupParent);
  }

  async list(): Promise<RuntimeProcessState[]> {
    if (!existsSync(this.#stateRoot)) return [];
    const { stdout } = await run(this.#runc, this.#args('list', '--format', 'json'));
    return ((JSON.parse(stdout || 'null') as Record<string, unknown>[] | null) ?? []).map(toState);
  }
}

function toState(raw: Record<string, unknown>): RuntimeProcessState {
  return { id: String(raw.id), pid: Number(raw.pid ?? 0), status: String(raw.status) as RuntimeProcessState['status'], bundle: String(raw.bundle ?? '') };
}

function validateId(id: string): void {
  if (!idPattern.test(id)) throw new Fault('invalid-argument', `invalid container id ${JSON.stringify(id)}`);
}

/** 'TERM', 'SIGTERM', '15' or 15 to a signal number; Fault invalid-argument for anything else. */
export function signalNumber(signal: string | number): number {
  if (typeof signal === 'number' || /^\d+$/.test(signal)) {
    const n = Number(signal);
    if (n > 0 && n <= 64) return n;
  } else {
    const name = signal.toUpperCase().startsWith('SIG') ? signal.toUpperCase() : `SIG${signal.toUpperCase()}`;
    const n = (constants.signals as Record<string, number>)[name];
    if (n) return n;
    const rt = /^SIGRTMIN(?:\+(\d+))?$/.exec(name) ?? /^SIGRTMAX-(\d+)$/.exec(name);
    if (rt) return name.startsWith('SIGRTMIN') ? 34 + Number(rt[1] ?? 0) : 64 - Number(rt[1]);
  }
  throw new Fault('invalid-argument', `invalid signal: ${signal}`);
}

/** The pid file appears once the process is about to exec; the command exiting first means it failed. */
async function waitForPid(pidFile: string, exited: Promise<number>): Promise<number> {
  const readPid = async () => Number((await readFile(pidFile, 'utf8').catch(() => '')).trim()) || undefined;
  let watcher: ReturnType<typeof watch> | undefined;
  let poll: NodeJS.Timeout | undefined;
  try {
    const appeared = new Promise<number>((resolve) => {
      const check = () => void readPid().then((pid) => pid && resolve(pid));
      try {
        watcher = watch(dirname(pidFile), check);
      } catch {
        // polling alone will do
      }
      poll = setInterval(check, 25);
      check();
    });
    const result = await Promise.race([appeared, exited.then((code) => ({ code }))]);
    if (typeof result === 'number') return result;
    const pid = await readPid();
    if (pid) return pid;
    throw new ExitedBeforeStart(result.code);
  } finally {
    watcher?.close();
    clearInterval(poll);
  }
}

class ExitedBeforeStart extends Error {
  readonly code: number;
  constructor(code: number) {
    super(`exited with status ${code} before the process started`);
    this.code = code;
  }
}

/** docker/cli and moby map a start error to an exit code by its words. */
export function startExitCode(message: string): number {
  if (/executable file not found|no such file or directory/.test(message)) return 127;
  if (/permission denied|is a directory/.test(message)) return 126;
  return 128;
}

/** runc's own error (from its JSON log), worded as moby words it: "OCI runtime create failed: …: unknown". */
async function startError(err: unknown, options: { bundle: string; log: string; what: 'create' | 'exec' }): Promise<Error> {
  if (!(err instanceof ExitedBeforeStart)) return err instanceof Error ? err : new Error(String(err));
  if (err.code === mountFailed && options.what === 'create') {
    const mountError = (await readFile(join(options.bundle, 'mount.err'), 'utf8').catch(() => '')).trim();
    if (mountError || !(await readFile(options.log, 'utf8').catch(() => ''))) {
      return new ProcessStartError(`mounting the container rootfs failed: ${mountError || 'unknown error'}`, { exitCode: 128 });
    }
  }
  const log = await readFile(options.log, 'utf8').catch(() => '');
  const errors = log
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      try {
        return JSON.parse(line) as { level?: string; msg?: string };
      } catch {
        return {};
      }
    })
    .filter((e) => e.level === 'error' && e.msg);
  const message = errors.at(-1)?.msg ?? `runc exited with status ${err.code} before the process started`;
  const worded =
    options.what === 'exec'
      ? `OCI runtime exec failed: ${message.replace(/^runc exec failed: /, 'exec failed: ')}: unknown`
      : `OCI runtime create failed: ${message.replace(/^runc run failed: /, 'runc create failed: ')}: unknown`;
  return new ProcessStartError(worded, { exitCode: startExitCode(worded), cause: err });
}

function runcMessage(err: unknown): string {
  const e = err as { stderr?: string; message?: string };
  const text = (e.stderr || e.message || String(err)).trim();
  // runc 1.1 logs JSON-ish lines on stderr: keep the msg.
  const msg = /"msg":"((?:[^"\\]|\\.)*)"/.exec(text)?.[1];
  return msg ? msg.replace(/\\"/g, '"') : text;
}
