/**
 * The two daemons the engine benchmarks compare, driven by the same docker CLI: wharf's engine in a process of its
 * own (test/e2e/engine-daemon.ts) and a private dockerd (test/support/dockerd.ts), plus the interleaved
 * `docker run` timing both benchmarks use.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { configSchema } from '../src/base/config.ts';
import { createLogger } from '../src/base/log.ts';
import { removeHostNetworking } from '../src/engine/engine.ts';
import { runDocker } from '../test/e2e/engine-harness.ts';
import { startDockerd } from '../test/support/dockerd.ts';
import { run, runOk } from '../test/support/run.ts';
import { testNetworkConfig } from '../test/support/test-network.ts';

const repoRoot = resolve(import.meta.dirname, '..');

export interface Daemon {
  name: string;
  env: Record<string, string>;
  /** Pids of the daemon proper (wharf: node; dockerd: dockerd + containerd). */
  daemonPids(): number[];
  /** Per-container helper processes (wharf: sh + runc run; dockerd: containerd-shim). */
  helperPids(): number[];
  close(): Promise<void>;
}

function cliEnv(socket: string, root: string): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: root, DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: join(root, 'cli') };
}

async function waitForSocket(env: Record<string, string>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if ((await runDocker(['version'], env)).code === 0) return;
    await sleep(100);
  }
  throw new Error(`${what} did not come up`);
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
}

/**
 * engine-daemon.ts on `<root>/data` with the test network config of that root (its own bridge and pool); close()
 * stops it and then removes its bridges and firewall chains, as the in-process test harness does.
 */
export async function startWharfEngine(root: string): Promise<Daemon> {
  const socket = join(root, 'wharf.sock');
  const data = join(root, 'data');
  const child = spawn(process.execPath, [join(repoRoot, 'test/e2e/engine-daemon.ts'), data, socket], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const close = async () => {
    await stop(child);
    const config = configSchema.parse({ root: data, engine: { socket, network: testNetworkConfig(data) } });
    await removeHostNetworking(config, createLogger({ level: 'warn' }));
    await assertNoHostNetworking(data, config.engine.network.bridge);
  };
  const env = cliEnv(socket, root);
  try {
    await waitForSocket(env, 'wharf engine');
  } catch (err) {
    await close();
    throw err;
  }
  return {
    name: 'wharf',
    env,
    daemonPids: () => [child.pid!],
    helperPids: () => descendants(child.pid!).filter((pid) => /^(sh|runc)$/.test(comm(pid))),
    close,
  };
}

/** A benchmark that leaves a bridge or firewall chains on the host fails instead of passing quietly. */
async function assertNoHostNetworking(data: string, bridge: string): Promise<void> {
  const idFile = join(data, 'engine', 'engine-id');
  const chains = existsSync(idFile) ? `WHARF-${readFileSync(idFile, 'utf8').trim().slice(0, 8)}-` : undefined;
  const links = await run('ip', ['link', 'show', bridge]);
  const rules = chains ? await runOk('iptables-save', []) : '';
  const left = [links.code === 0 ? `bridge ${bridge}` : '', chains && rules.includes(chains) ? `chains ${chains}*` : ''].filter(Boolean);
  if (left.length > 0) throw new Error(`wharf engine left on the host: ${left.join(', ')}`);
}

/** dockerd from test/support; its temp dir (socket, pidfile, exec root) identifies its processes. */
export async function startDockerdDaemon(): Promise<Daemon> {
  const dockerd = await startDockerd();
  const dir = dirname(dockerd.host.replace(/^unix:\/\//, ''));
  const exec = join(dir, 'exec');
  const byCmdline = (pattern: RegExp) => allPids().filter((pid) => pattern.test(cmdline(pid)) && cmdline(pid).includes(exec));
  return {
    name: 'dockerd',
    env: dockerd.env as Record<string, string>,
    daemonPids: () => [Number(readFileSync(join(dir, 'docker.pid'), 'utf8')), ...byCmdline(/^containerd /)],
    helperPids: () => byCmdline(/containerd-shim/),
    close: () => dockerd.stop(),
  };
}

function allPids(): number[] {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const pid of allPids()) {
    try {
      const ppid = Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), pid]);
    } catch {
      // gone
    }
  }
  const out: number[] = [];
  const walk = (pid: number) => (children.get(pid) ?? []).forEach((c) => (out.push(c), walk(c)));
  walk(root);
  return out;
}

export async function docker(daemon: Daemon, args: string[], timeoutMs = 600_000): Promise<string> {
  const result = await runDocker(args, daemon.env, { timeoutMs });
  if (result.code !== 0) throw new Error(`${daemon.name}: docker ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

/** One timed command line against one daemon, named by `label` in the results. */
export interface LatencyCase {
  label: string;
  daemon: Daemon;
  args: string[];
}

/** Three untimed warm-up runs of each case, then `runs` rounds that run every case once (wall time, ms). */
export async function runLatency(cases: LatencyCase[], runs: number): Promise<Record<string, { median: number; p90: number }>> {
  const samples: Record<string, number[]> = Object.fromEntries(cases.map((c) => [c.label, []]));
  for (const c of cases) for (let i = 0; i < 3; i++) await docker(c.daemon, c.args, 60_000);
  for (let i = 0; i < runs; i++) {
    // Interleaved, so background load affects every case alike.
    for (const c of cases) {
      const start = performance.now();
      await docker(c.daemon, c.args, 60_000);
      samples[c.label].push(performance.now() - start);
    }
  }
  return Object.fromEntries(
    Object.entries(samples).map(([label, s]) => {
      const sorted = s.sort((a, b) => a - b);
      return [label, { median: percentile(sorted, 0.5), p90: percentile(sorted, 0.9) }];
    }),
  );
}

/** Resident memory of `pids` together, in MiB (a pid that exited meanwhile counts 0). */
export function rssMb(pids: number[]): number {
  let kb = 0;
  for (const pid of pids) {
    try {
      kb += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      // exited meanwhile
    }
  }
  return kb / 1024;
}

/** Closes every daemon; a failure is printed and fails the run, and the others still close. */
export async function closeDaemons(daemons: readonly Daemon[]): Promise<void> {
  for (const d of daemons) {
    await d.close().catch((err: Error) => {
      console.error(`closing ${d.name}: ${err.message}`);
      process.exitCode = 1;
    });
  }
}
