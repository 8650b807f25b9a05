/*
 * NOTE for the lower half: this adapter runs containers with runc directly until runtime.ts publishes its
 * high-level "run a container process" API (and bundle.ts the OCI spec). Then it should shrink to a thin
 * mapping from LaunchRequest to that API. What the upper half relies on is the ContainerLauncher contract in
 * container-launcher.ts: exit code after drained output, OOM flag, 127-worded start errors, no mount left.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, watch } from 'node:fs';
import { lstat, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { promisify } from 'node:util';
import { Fault } from '../../base/fault.ts';
import type { Logger } from '../../base/log.ts';
import type { Mount } from '../snapshots/snapshotter.ts';
import type { ContainerLauncher, ExecRequest, ExitInfo, LaunchedProcess, LaunchRequest } from './container-launcher.ts';
import { capabilitiesInMask, ociSpec, type ResolvedUser } from './container-oci-spec.ts';

const run = promisify(execFile);

type Command = { file: string; args: string[]; env: Record<string, string> };
type StdioOptions = { openStdin: boolean; consoleSize?: [number, number] };
type Spawned = { process: Omit<LaunchedProcess, 'pid' | 'exited'>; exited: Promise<number> };
const memoryCgroupRoot = '/sys/fs/cgroup/memory';

export interface RuncLauncherOptions {
  /** Engine data root; runc keeps its state under <root>/runc. */
  root: string;
  logger: Logger;
  runc?: string;
}

/**
 * Runs each container as `runc run` in the foreground (runc hands its pipes to the container process and exits
 * with its status); with a TTY, runc runs inside a node-pty pty and relays the container console, so a resize of
 * ours reaches the container. Under a memory limit `--keep` leaves the cgroup until we have read the OOM counter.
 */
export class RuncLauncher implements ContainerLauncher {
  readonly runtimeName = 'runc';
  #stateRoot: string;
  #runc: string;
  #logger: Logger;
  #pids = new Map<string, number>();
  #swapAccounting = existsSync(join(memoryCgroupRoot, 'memory.memsw.limit_in_bytes'));
  /** runc cannot grant what the engine itself lacks (sandboxes often drop CAP_SYS_RESOURCE and such). */
  #bounding = capabilitiesInMask(/CapBnd:\s*([0-9a-f]+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '');

  constructor(options: RuncLauncherOptions) {
    this.#stateRoot = join(options.root, 'runc');
    this.#runc = options.runc ?? 'runc';
    this.#logger = options.logger;
  }

  #args(...args: string[]): string[] {
    return ['--root', this.#stateRoot, ...args];
  }

  async launch(request: LaunchRequest): Promise<LaunchedProcess> {
    const bundle = request.bundleDir;
    await mkdir(join(bundle, 'rootfs'), { recursive: true });
    await this.#cleanupState(request.id);
    await unmount(join(bundle, 'rootfs'));
    // Independent preparations run together: every millisecond here is `docker run` latency.
    const [files, user] = await Promise.all([
      writeContainerFiles(bundle, request),
      resolveUser((path) => readRootfsFile(request.rootfs, path), request.user),
      rm(join(bundle, 'runc.log'), { force: true }),
      rm(join(bundle, 'pid'), { force: true }),
    ]);
    if (!request.env.some((e) => e.startsWith('HOME='))) request = { ...request, env: [...request.env, `HOME=${user.home}`] };
    const spec = ociSpec(request, user, files, { swapAccounting: this.#swapAccounting, bounding: this.#bounding });
    await writeFile(join(bundle, 'config.json'), JSON.stringify(spec));
    const command = this.#command(request);
    const stdio = { openStdin: request.openStdin, consoleSize: request.consoleSize };
    const started = request.terminal ? await this.#spawnPty(stdio, command) : this.#spawnPipes(stdio, command);
    try {
      const pid = await this.#waitStarted({ pidFile: join(bundle, 'pid'), bundle, exited: started.exited, what: 'create' });
      this.#pids.set(request.id, pid);
      return { ...started.process, pid, exited: this.#finish(request, started.exited) };
    } catch (err) {
      await this.#cleanupState(request.id);
      throw err;
    }
  }

  /**
   * One shell per run mounts the rootfs, runs runc in the foreground and unmounts after it: every spawn from
   * a large node process costs milliseconds, and the unmount then happens even if the engine dies meanwhile.
   * Mount errors go to mount.err (not the container's stderr) and exit 213 before runc starts.
   */
  #command(request: LaunchRequest): { file: string; args: string[]; env: Record<string, string> } {
    const bundle = request.bundleDir;
    const [mount] = request.rootfs;
    if (!mount) throw new Fault('failed-precondition', 'container has no rootfs mount');
    const mountArgs =
      mount.type === 'bind' ? ['--bind', mount.source] : ['-t', mount.type, mount.source, '-o', mount.options.join(',')];
    // --keep leaves the cgroup (and runc state) for us to read the OOM counter; only a memory limit needs it,
    // and without it runc tears down by itself, sparing a `runc delete` per run.
    const keep = request.resources.memory > 0 ? ['--keep'] : [];
    const runc = [this.#runc, ...this.#args('--log', join(bundle, 'runc.log'), '--log-format', 'json', 'run', ...keep, '--pid-file', join(bundle, 'pid'), '--bundle', bundle, request.id)];
    const script = [
      'mount $WHARF_MOUNT "$WHARF_ROOTFS" 2>"$WHARF_BUNDLE/mount.err" || exit 213',
      '"$@"; rc=$?',
      'umount "$WHARF_ROOTFS" 2>/dev/null || umount -l "$WHARF_ROOTFS" 2>/dev/null',
      'exit $rc',
    ].join('\n');
    return {
      file: '/bin/sh',
      args: ['-c', script, 'wharf-run', ...runc],
      env: {
        PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        // Word-split on purpose: mount's arguments (our own paths under the engine root, no spaces).
        WHARF_MOUNT: mountArgs.join(' '),
        WHARF_ROOTFS: join(bundle, 'rootfs'),
        WHARF_BUNDLE: bundle,
      },
    };
  }

  #spawnPipes(stdio: StdioOptions, command: Command): Spawned {
    const child = spawn(command.file, command.args, { env: command.env, stdio: [stdio.openStdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    // 'close' rather than 'exit': it fires once stdout and stderr are drained (notes §1.5.6).
    const exited = new Promise<number>((resolve) => {
      child.once('close', (code, signal) => resolve(code ?? 128 + (signal ? 9 : 0)));
      child.once('error', () => resolve(255));
    });
    // Consume the pipes at once: node resumes (discards) unread child stdio when the child exits, and a
    // short-lived container exits before the manager wires its streams.
    const stdout = child.stdout!.pipe(new PassThrough());
    const stderr = child.stderr!.pipe(new PassThrough());
    // A pipe error must end our side, never reach the process as an uncaught 'error'.
    child.stdout!.on('error', (err) => stdout.destroy(err));
    child.stderr!.on('error', (err) => stderr.destroy(err));
    child.stdin?.on('error', () => undefined);
    return { process: { stdin: child.stdin ?? undefined, stdout, stderr, resize: () => undefined }, exited };
  }

  async #spawnPty(stdio: StdioOptions, command: Command): Promise<Spawned> {
    const { spawn: spawnPty } = await import('node-pty');
    const [rows, cols] = stdio.consoleSize ?? [24, 80];
    // Our pty must be raw before runc starts relaying: runc sets it raw itself only once the container console
    // is up, and output that races ahead gets a second CR from our line discipline.
    const rawFirst = ['-c', 'stty raw -echo 2>/dev/null; exec "$@"', 'wharf-tty', command.file, ...command.args];
    const pty = spawnPty('/bin/sh', rawFirst, { cols: cols || 80, rows: rows || 24, env: command.env, encoding: null as unknown as string });
    const stdout = new PassThrough();
    pty.onData((data: string | Buffer) => stdout.write(typeof data === 'string' ? Buffer.from(data) : data));
    const exited = new Promise<number>((resolve) =>
      pty.onExit(({ exitCode }) => {
        // node-pty may report the exit before the last output; give the master a moment to drain.
        setTimeout(() => {
          stdout.end();
          resolve(exitCode);
        }, 20);
      }),
    );
    const stdin = new Writable({
      write: (chunk: Buffer, _enc, callback) => {
        try {
          pty.write(chunk);
          callback();
        } catch (err) {
          callback(err as Error);
        }
      },
      // EOF on a terminal is ^D, as a shell reading the tty expects.
      final: (callback) => {
        try {
          pty.write('\x04');
        } catch {
          // the pty is gone already
        }
        callback();
      },
    });
    return { process: { stdin, stdout, resize: (r, c) => r > 0 && c > 0 && pty.resize(c, r) }, exited };
  }

  /** The pid file appears once the process is about to exec; runc exiting first means it failed. */
  async #waitStarted(options: { pidFile: string; bundle: string; exited: Promise<number>; what: 'create' | 'exec'; log?: string }): Promise<number> {
    const { pidFile, exited } = options;
    const readPid = async () => Number((await readFile(pidFile, 'utf8').catch(() => '')).trim()) || undefined;
    let watcher: ReturnType<typeof watch> | undefined;
    let poll: NodeJS.Timeout | undefined;
    try {
      const appeared = new Promise<number>((resolve) => {
        const check = () => void readPid().then((pid) => pid && resolve(pid));
        watcher = watch(dirname(pidFile), check);
        poll = setInterval(check, 25);
        check();
      });
      const result = await Promise.race([appeared, exited.then((code) => ({ code }))]);
      if (typeof result === 'number') return result;
      const pid = await readPid();
      if (pid) return pid;
      // A plain Error: the manager words and classifies start failures (127/126 by message).
      throw new Error(await runcError(options.bundle, result.code, options.what, options.log));
    } finally {
      watcher?.close();
      clearInterval(poll);
    }
  }

  /**
   * `docker exec`: `runc exec` in the foreground with the container's process settings, the exec's argv, env,
   * cwd and user. Resolves once the process runs; `exited` carries its status.
   */
  async exec(containerId: string, bundleDir: string, request: ExecRequest): Promise<LaunchedProcess> {
    const spec = JSON.parse(await readFile(join(bundleDir, 'config.json'), 'utf8')) as { process: Record<string, unknown> };
    const rootfs: Mount[] = [{ type: 'bind', source: join(bundleDir, 'rootfs'), options: [] }];
    const user = await resolveUser((path) => readRootfsFile(rootfs, path), request.user || String((spec.process.user as { uid: number }).uid));
    const caps = request.privileged ? this.#bounding : undefined;
    const env = request.env.some((e) => e.startsWith('HOME=')) ? request.env : [...request.env, `HOME=${user.home}`];
    const processSpec = {
      ...spec.process,
      terminal: request.terminal,
      ...(request.terminal && request.consoleSize ? { consoleSize: { height: request.consoleSize[0], width: request.consoleSize[1] } } : {}),
      args: request.args,
      env,
      cwd: request.cwd,
      user: { uid: user.uid, gid: user.gid, ...(user.additionalGids.length ? { additionalGids: user.additionalGids } : {}) },
      ...(caps ? { capabilities: { bounding: caps, effective: caps, permitted: caps } } : {}),
    };
    const base = join(bundleDir, `exec-${request.execId}`);
    await writeFile(`${base}.json`, JSON.stringify(processSpec));
    const command: Command = {
      file: this.#runc,
      args: this.#args('--log', `${base}.log`, '--log-format', 'json', 'exec', '--process', `${base}.json`, '--pid-file', `${base}.pid`, containerId),
      env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' },
    };
    const stdio = { openStdin: request.openStdin, consoleSize: request.consoleSize };
    const started = request.terminal ? await this.#spawnPty(stdio, command) : this.#spawnPipes(stdio, command);
    const removeFiles = () => Promise.all(['.json', '.pid', '.log'].map((ext) => rm(`${base}${ext}`, { force: true })));
    try {
      const pid = await this.#waitStarted({ pidFile: `${base}.pid`, bundle: bundleDir, exited: started.exited, what: 'exec', log: `${base}.log` });
      const exited = started.exited.then(async (exitCode) => (await removeFiles(), { exitCode, oomKilled: false }));
      return { ...started.process, pid, exited };
    } catch (err) {
      await removeFiles();
      throw err;
    }
  }

  async #finish(request: LaunchRequest, exited: Promise<number>): Promise<ExitInfo> {
    const exitCode = await exited;
    this.#logger.debug({ id: request.id, exitCode }, 'container process exited');
    this.#pids.delete(request.id);
    const oomKilled = request.resources.memory > 0 && (await readOomKilled(request.id));
    await this.#cleanupState(request.id);
    return { exitCode, oomKilled };
  }

  /** `runc delete --force`, only when runc has state for `id` (a spawn costs milliseconds per run). */
  async #cleanupState(id: string): Promise<void> {
    if (!existsSync(join(this.#stateRoot, id))) return;
    await run(this.#runc, this.#args('delete', '--force', id)).catch(() => undefined);
  }

  async kill(id: string, signal: number): Promise<void> {
    const pid = this.#pids.get(id);
    if (pid) {
      try {
        process.kill(pid, signal);
        return;
      } catch {
        // fall back to runc, which knows the container's init even if our pid is stale
      }
    }
    await run(this.#runc, this.#args('kill', id, String(signal))).catch((err) => {
      throw new Fault('conflict', `cannot kill container ${id}: ${runcMessage(err)}`);
    });
  }

  async pause(id: string): Promise<void> {
    await run(this.#runc, this.#args('pause', id)).catch((err) => {
      throw new Fault('conflict', `cannot pause container ${id}: ${runcMessage(err)}`);
    });
  }

  async resume(id: string): Promise<void> {
    await run(this.#runc, this.#args('resume', id)).catch((err) => {
      throw new Fault('conflict', `cannot unpause container ${id}: ${runcMessage(err)}`);
    });
  }

  async pids(id: string): Promise<number[]> {
    const { stdout } = await run(this.#runc, this.#args('ps', '--format', 'json', id)).catch((err) => {
      throw new Fault('conflict', `cannot list processes of ${id}: ${runcMessage(err)}`);
    });
    return (JSON.parse(stdout || '[]') as number[] | null) ?? [];
  }

  async cleanup(id: string, bundleDir: string): Promise<void> {
    this.#pids.delete(id);
    await this.#cleanupState(id);
    await unmount(join(bundleDir, 'rootfs'));
  }
}

async function unmount(target: string): Promise<void> {
  if (!isMountPoint(target)) return;
  await run('umount', [target]).catch(() => run('umount', ['-l', target]).catch(() => undefined));
}

function isMountPoint(path: string): boolean {
  try {
    return readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .some((line) => line.split(' ')[4] === path);
  } catch {
    return false;
  }
}

/** /etc/hostname, /etc/hosts and /etc/resolv.conf, bind-mounted like docker's. */
async function writeContainerFiles(bundle: string, request: LaunchRequest): Promise<{ hostname: string; hosts: string; resolvConf: string }> {
  const dir = join(bundle, '..');
  const files = { hostname: join(dir, 'hostname'), hosts: join(dir, 'hosts'), resolvConf: join(dir, 'resolv.conf') };
  const name = request.network === 'host' ? hostname() : request.hostname;
  const hosts = `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n${request.network === 'host' ? '' : `127.0.1.1\t${name}\n`}`;
  const hostResolv = await readFile('/etc/resolv.conf', 'utf8').catch(() => '');
  // A private network namespace has only loopback, where the host's 127.0.0.x resolvers are unreachable.
  const resolv = request.network === 'host' ? hostResolv : hostResolv.replace(/^nameserver\s+127\.\S+\s*$/gm, '');
  await Promise.all([writeFile(files.hostname, `${name}\n`), writeFile(files.hosts, hosts), writeFile(files.resolvConf, resolv)]);
  return files;
}

/** docker's user spec: `name`, `uid`, `uid:gid`, `name:group`, resolved against the image's passwd/group. */
export async function resolveUser(read: (path: string) => Promise<string | undefined>, spec: string): Promise<ResolvedUser> {
  const [userPart, groupPart] = (spec || '0').split(':');
  const passwd = parseColonFile((await read('etc/passwd')) ?? '');
  const groups = parseColonFile((await read('etc/group')) ?? '');
  const entry = passwd.find((p) => p[0] === userPart || p[2] === userPart);
  let uid: number;
  let gid: number;
  if (entry) {
    uid = Number(entry[2]);
    gid = Number(entry[3]);
  } else if (/^\d+$/.test(userPart)) {
    uid = Number(userPart);
    gid = 0;
  } else {
    throw new Fault('invalid-argument', `unable to find user ${userPart}: no matching entries in passwd file`);
  }
  if (groupPart !== undefined) {
    const group = groups.find((g) => g[0] === groupPart || g[2] === groupPart);
    if (group) gid = Number(group[2]);
    else if (/^\d+$/.test(groupPart)) gid = Number(groupPart);
    else throw new Fault('invalid-argument', `unable to find group ${groupPart}: no matching entries in group file`);
  }
  const name = entry?.[0];
  const additionalGids = name ? groups.filter((g) => (g[3] ?? '').split(',').includes(name)).map((g) => Number(g[2])) : [];
  return { uid, gid, additionalGids: additionalGids.filter((g) => g !== gid), home: entry?.[5] || '/' };
}

/**
 * Reads a small file of the container's rootfs without mounting it: the upper directory first, then the
 * lower layers top-down; an overlay whiteout (a 0/0 character device) hides the file.
 */
export async function readRootfsFile(mounts: Mount[], path: string): Promise<string | undefined> {
  const [mount] = mounts;
  if (!mount) return undefined;
  const option = (key: string) => mount.options.find((o) => o.startsWith(`${key}=`))?.slice(key.length + 1);
  const dirs = mount.type === 'overlay' ? [option('upperdir'), ...(option('lowerdir') ?? '').split(':')] : [mount.source];
  for (const dir of dirs.filter((d): d is string => Boolean(d))) {
    const file = join(dir, path);
    const st = await lstat(file).catch(() => undefined);
    if (!st) continue;
    if (st.isCharacterDevice() && st.rdev === 0) return undefined;
    return readFile(file, 'utf8').catch(() => undefined);
  }
  return undefined;
}

function parseColonFile(text: string): string[][] {
  return text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(':'));
}

/** The kernel counts OOM kills per memory cgroup; runc --keep leaves it for us to read. */
async function readOomKilled(id: string): Promise<boolean> {
  const text = await readFile(join(memoryCgroupRoot, 'wharf', id, 'memory.oom_control'), 'utf8').catch(() => '');
  const match = /oom_kill (\d+)/.exec(text);
  return match ? Number(match[1]) > 0 : false;
}

/** runc's own error (from its JSON log), worded the way the CLI maps exit codes: "executable file not found". */
async function runcError(bundle: string, code: number, what: 'create' | 'exec', logFile?: string): Promise<string> {
  if (code === 213) {
    const mountError = (await readFile(join(bundle, 'mount.err'), 'utf8').catch(() => '')).trim();
    return `mounting the container rootfs failed: ${mountError || 'unknown error'}`;
  }
  const log = await readFile(logFile ?? join(bundle, 'runc.log'), 'utf8').catch(() => '');
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
  const message = errors.at(-1)?.msg ?? `runc exited with status ${code} before the process started`;
  if (what === 'exec') return `OCI runtime exec failed: ${message.replace(/^runc exec failed: /, 'exec failed: ')}: unknown`;
  return `OCI runtime create failed: ${message.replace(/^runc run failed: /, 'runc create failed: ')}: unknown`;
}

function runcMessage(err: unknown): string {
  const e = err as { stderr?: string; message?: string };
  return (e.stderr || e.message || String(err)).trim();
}
