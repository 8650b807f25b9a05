import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestBridge, type TestBridge } from './host-network.ts';
import { type RunResult, run, runOk } from './run.ts';
import { waitFor } from './ports.ts';
import { killAll, mountsUnder, pidsMentioning } from './processes.ts';

export interface DockerOptions {
  input?: string | Buffer;
  timeoutMs?: number;
}

export interface Dockerd {
  /** `unix:///…/docker.sock` */
  host: string;
  /** DOCKER_HOST and a private DOCKER_CONFIG: the environment for any docker CLI call against this daemon. */
  env: NodeJS.ProcessEnv;
  /** The storage driver the daemon ended up on (overlay2, or vfs where overlay cannot mount). */
  storageDriver: string;
  /** The daemon's own bridge (`wharf-…`), removed by stop(). */
  bridge: string;
  /** The real docker CLI (v28 on the image) against this daemon. */
  docker(args: string[], options?: DockerOptions): Promise<RunResult>;
  dockerOk(args: string[], options?: DockerOptions): Promise<string>;
  /** The last lines of the daemon's log, for failure messages. */
  logTail(lines?: number): string;
  stop(): Promise<void>;
}

export const dockerCli = existsSync('/usr/local/bin/docker') ? '/usr/local/bin/docker' : '/usr/bin/docker';

/**
 * A private dockerd from Debian's docker.io: its own data root, exec root, pidfile, socket, daemon.json and CLI
 * config in a temp dir, its own bridge, and no iptables or sysctl changes, so it neither touches the host's
 * networking nor collides with another dockerd (several start concurrently; each runs its own containerd under
 * its exec root). It stays in the host's network namespace: the registries the tests run on 127.0.0.1 must be
 * reachable from the daemon, and they are insecure by default in dockerd (127.0.0.0/8), so plain-http wharf
 * works without config. Tests run containers with `--network none`, so the bridge carries nothing.
 */
export async function startDockerd(options: { storageDriver?: 'overlay2' | 'vfs'; registryMirrors?: string[] } = {}): Promise<Dockerd> {
  const drivers = options.storageDriver ? [options.storageDriver] : (['overlay2', 'vfs'] as const);
  const failures: string[] = [];
  for (const driver of drivers) {
    try {
      return await startWithDriver(driver, options.registryMirrors ?? []);
    } catch (err) {
      // overlay2 fails where the temp dir is itself on overlayfs (nested containers); vfs always works.
      failures.push(`${driver}: ${(err as Error).message}`);
    }
  }
  throw new Error(`dockerd did not start\n${failures.join('\n')}`);
}

async function startWithDriver(driver: string, registryMirrors: string[]): Promise<Dockerd> {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-dockerd-'));
  let bridge: TestBridge;
  try {
    // The temp dir's random suffix makes the name unique among concurrent daemons and traceable to its dir.
    bridge = await createTestBridge(`wharf-${dir.slice(-6)}`);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const socket = join(dir, 'docker.sock');
  const log = join(dir, 'dockerd.log');
  // Its own daemon.json keeps the host's /etc/docker/daemon.json (mirrors, registries, drivers) out of the tests.
  writeFileSync(join(dir, 'daemon.json'), `${JSON.stringify(registryMirrors.length ? { 'registry-mirrors': registryMirrors } : {})}\n`);
  const args = [
    `--config-file=${join(dir, 'daemon.json')}`,
    `--data-root=${join(dir, 'data')}`,
    `--exec-root=${join(dir, 'exec')}`,
    `--pidfile=${join(dir, 'docker.pid')}`,
    `--host=unix://${socket}`,
    // Not --bridge=none: with the bridge disabled dockerd deletes the host's docker0 (removeDefaultBridgeInterface).
    `--bridge=${bridge.name}`,
    '--iptables=false',
    '--ip6tables=false',
    '--ip-masq=false',
    // The bridge driver would otherwise set the host's net.ipv4.ip_forward to 1.
    '--ip-forward=false',
    `--storage-driver=${driver}`,
  ];
  const child: ChildProcess = spawn('/bin/sh', ['-c', `exec /usr/sbin/dockerd "$@" >>"${log}" 2>&1`, 'dockerd', ...args], {
    stdio: 'ignore',
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const env = { ...process.env, DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: join(dir, 'cli'), DOCKER_CLI_HINTS: 'false' };
  const docker = (cli: string[], opts: DockerOptions = {}) => run(dockerCli, cli, { env, ...opts });
  const logTail = (lines = 20) => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').slice(-lines).join('\n') : '');
  // Safety net if the test process dies without stop(): nothing may keep running from a removed temp dir.
  const onExit = () => {
    removeSync(dir);
    bridge.removeSync();
  };
  process.once('exit', onExit);
  const stop = async () => {
    process.off('exit', onExit);
    if (child.exitCode === null && child.signalCode === null) await killContainers(docker);
    await stopDockerd(child, exited, dir);
    await bridge.remove();
  };
  try {
    await waitFor(
      'dockerd',
      async () => {
        if (child.exitCode !== null) throw new Error('dockerd exited');
        return (await docker(['version', '--format', '{{.Server.Version}}'], { timeoutMs: 10_000 })).code === 0;
      },
      60_000,
      () => child.exitCode !== null,
    );
  } catch (err) {
    const tail = logTail();
    await stop();
    throw new Error(`${(err as Error).message}\n${tail}`);
  }
  return {
    host: `unix://${socket}`,
    env,
    storageDriver: driver,
    bridge: bridge.name,
    docker,
    dockerOk: async (cli, opts) => {
      const result = await docker(cli, opts);
      if (result.code !== 0) throw new Error(`docker ${cli.join(' ')} exited ${result.code}: ${result.stderr}`);
      return result.stdout;
    },
    logTail,
    stop,
  };
}

/** The synchronous last resort for process exit: SIGKILL what runs from `dir`, unmount below it, remove it. */
function removeSync(dir: string): void {
  killAll(pidsMentioning(dir));
  for (const point of mountsUnder(dir)) spawnSync('umount', ['-l', point]);
  rmSync(dir, { recursive: true, force: true });
}

/**
 * dockerd's shutdown gives each running container 10 s after SIGTERM, and test containers often run `sleep` as
 * pid 1, which ignores it: killing them first makes stop() take a second instead of ten.
 */
async function killContainers(docker: (cli: string[], opts?: DockerOptions) => Promise<RunResult>): Promise<void> {
  const running = await docker(['ps', '-q'], { timeoutMs: 5_000 }).catch(() => undefined);
  const ids = running?.code === 0 ? running.stdout.split(/\s+/).filter(Boolean) : [];
  if (ids.length > 0) await docker(['kill', ...ids], { timeoutMs: 10_000 }).catch(() => undefined);
}

/**
 * SIGTERM and up to 30 s for dockerd to stop its containers and containerd; then SIGKILL whatever still names the
 * temp dir (dockerd, containerd, shims), unmount what is left below it and remove it.
 */
async function stopDockerd(child: ChildProcess, exited: Promise<void>, dir: string): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    const timedOut = await Promise.race([exited.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), 30_000).unref())]);
    if (timedOut) {
      child.kill('SIGKILL');
      await exited;
    }
  }
  for (let attempt = 0; attempt < 20; attempt++) {
    const leftovers = pidsMentioning(dir);
    if (leftovers.length === 0) break;
    killAll(leftovers);
    await new Promise((r) => setTimeout(r, 100));
  }
  for (const point of mountsUnder(dir)) await runOk('umount', ['-l', point]).catch(() => {});
  rmSync(dir, { recursive: true, force: true });
}
