/**
 * wharf's engine side by side with dockerd 20.10 (Debian docker.io), driven by the same docker CLI:
 *   1. `docker run --rm busybox true` latency (interleaved runs, median and p90), and the same with a named
 *      volume (`-v benchvol:/d`)
 *   2. daemon resident memory at idle and with 50 containers running
 *   3. `docker pull` of a 200 MB image (4 incompressible 50 MB layers + busybox) from a local registry
 * Run: node bench/engine.ts [--runs 30] [--containers 50] [--pull-mb 200]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildBusyboxRootfsTar, runDocker } from '../test/e2e/engine-harness.ts';
import { layerTar, pushImage, startDistribution } from '../test/e2e/engine-registry.ts';
import { startDockerd } from '../test/support/dockerd.ts';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '30' }, containers: { type: 'string', default: '50' }, 'pull-mb': { type: 'string', default: '200' } },
});
const runs = Number(values.runs);
const containerCount = Number(values.containers);
const pullMb = Number(values['pull-mb']);
const repoRoot = resolve(import.meta.dirname, '..');

interface Daemon {
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
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
}

async function startWharfEngine(root: string): Promise<Daemon> {
  const socket = join(root, 'wharf.sock');
  const child = spawn(process.execPath, [join(repoRoot, 'test/e2e/engine-daemon.ts'), join(root, 'data'), socket], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const env = cliEnv(socket, root);
  await waitForSocket(env, 'wharf engine');
  return {
    name: 'wharf',
    env,
    daemonPids: () => [child.pid!],
    helperPids: () => descendants(child.pid!).filter((pid) => /^(sh|runc)$/.test(comm(pid))),
    close: () => stop(child),
  };
}

/** dockerd from test/support; its temp dir (socket, pidfile, exec root) identifies its processes. */
async function startDockerdDaemon(): Promise<Daemon> {
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

function rssMb(pids: number[]): number {
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

async function docker(daemon: Daemon, args: string[]): Promise<string> {
  const result = await runDocker(args, daemon.env, { timeoutMs: 600_000 });
  if (result.code !== 0) throw new Error(`${daemon.name}: docker ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

// Loopback only on both sides: wharf's default network, and dockerd's when the test helper had it on --bridge=none
// (it now has a bridge of its own, and a veth per container would measure networking, not the engine).
const runRm = ['run', '--rm', '--network', 'none', 'busybox', 'true'];
const runRmVolume = ['run', '--rm', '--network', 'none', '-v', 'benchvol:/d', 'busybox', 'true'];

async function runLatency(daemons: Daemon[], runRm: string[]): Promise<Record<string, { median: number; p90: number }>> {
  const samples: Record<string, number[]> = Object.fromEntries(daemons.map((d) => [d.name, []]));
  for (const d of daemons) for (let i = 0; i < 3; i++) await docker(d, runRm);
  for (let i = 0; i < runs; i++) {
    // Interleaved, so background load affects both alike.
    for (const d of daemons) {
      const start = performance.now();
      await docker(d, runRm);
      samples[d.name].push(performance.now() - start);
    }
  }
  return Object.fromEntries(
    Object.entries(samples).map(([name, s]) => {
      const sorted = s.sort((a, b) => a - b);
      return [name, { median: percentile(sorted, 0.5), p90: percentile(sorted, 0.9) }];
    }),
  );
}

async function memory(daemon: Daemon): Promise<{ idle: number; busyDaemon: number; busyTotal: number }> {
  await sleep(1000);
  const idle = rssMb(daemon.daemonPids());
  for (let i = 0; i < containerCount; i++) await docker(daemon, ['run', '-d', '--network', 'none', '--name', `bench-${i}`, 'busybox', 'sleep', '3600']);
  await sleep(1000);
  const busyDaemon = rssMb(daemon.daemonPids());
  const busyTotal = busyDaemon + rssMb(daemon.helperPids());
  await docker(daemon, ['rm', '-f', ...Array.from({ length: containerCount }, (_, i) => `bench-${i}`)]);
  return { idle, busyDaemon, busyTotal };
}

async function pullTime(daemon: Daemon, ref: string): Promise<number> {
  const start = performance.now();
  await docker(daemon, ['pull', '-q', ref]);
  return performance.now() - start;
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'wharf-bench-'));
  const registry = await startDistribution();
  const daemons: Daemon[] = [];
  try {
    daemons.push(await startWharfEngine(join(root, 'wharf')), await startDockerdDaemon());
    const tar = await buildBusyboxRootfsTar(root);
    for (const d of daemons) await docker(d, ['import', tar, 'busybox']);

    console.log(`# run latency: ${runs} interleaved runs of docker run --rm busybox true`);
    const latency = await runLatency(daemons, runRm);
    for (const [name, l] of Object.entries(latency)) console.log(`${name.padEnd(8)} median ${l.median.toFixed(1)} ms   p90 ${l.p90.toFixed(1)} ms`);
    console.log(`# the same with a named volume: docker run --rm -v benchvol:/d busybox true`);
    const volumeLatency = await runLatency(daemons, runRmVolume);
    for (const [name, l] of Object.entries(volumeLatency)) console.log(`${name.padEnd(8)} median ${l.median.toFixed(1)} ms   p90 ${l.p90.toFixed(1)} ms`);

    console.log(`# resident memory (MB): idle, and with ${containerCount} containers running`);
    const mem: Record<string, Awaited<ReturnType<typeof memory>>> = {};
    for (const d of daemons) mem[d.name] = await memory(d);
    for (const [name, m] of Object.entries(mem)) {
      console.log(`${name.padEnd(8)} idle ${m.idle.toFixed(1)}   busy daemon ${m.busyDaemon.toFixed(1)}   busy incl. per-container helpers ${m.busyTotal.toFixed(1)}`);
    }

    console.log(`# pull of a ${pullMb} MB image from a local registry (docker-registry 2.8)`);
    const layers: Buffer[] = [readFileSync(tar)];
    const layerCount = 4;
    for (let i = 0; i < layerCount; i++) layers.push(await layerTar({ [`blob-${i}`]: randomBytes((pullMb * 1024 * 1024) / layerCount) }));
    await pushImage(registry.host, 'bench/big', 'v1', layers);
    const pulls: Record<string, number> = {};
    for (const d of daemons) pulls[d.name] = await pullTime(d, `${registry.host}/bench/big:v1`);
    for (const [name, ms] of Object.entries(pulls)) console.log(`${name.padEnd(8)} ${(ms / 1000).toFixed(2)} s`);

    console.log('# ratios wharf / dockerd (lower is better)');
    console.log(`run latency (median)          ${(latency.wharf.median / latency.dockerd.median).toFixed(2)}`);
    console.log(`run latency, -v vol (median)  ${(volumeLatency.wharf.median / volumeLatency.dockerd.median).toFixed(2)}`);
    console.log(`idle RSS                      ${(mem.wharf.idle / mem.dockerd.idle).toFixed(2)}`);
    console.log(`RSS, ${containerCount} running, daemon        ${(mem.wharf.busyDaemon / mem.dockerd.busyDaemon).toFixed(2)}`);
    console.log(`RSS, ${containerCount} running, with helpers  ${(mem.wharf.busyTotal / mem.dockerd.busyTotal).toFixed(2)}`);
    console.log(`pull ${pullMb} MB                   ${(pulls.wharf / pulls.dockerd).toFixed(2)}`);
  } finally {
    for (const d of daemons) await d.close().catch(() => undefined);
    await registry.close();
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
