/**
 * wharf's engine side by side with dockerd 20.10 (Debian docker.io), driven by the same docker CLI:
 *   1. `docker run --rm busybox true` latency (interleaved runs, median and p90), and the same with a named
 *      volume (`-v benchvol:/d`)
 *   2. daemon resident memory at idle and with 50 containers running
 *   3. `docker pull` of a 200 MB image (4 incompressible 50 MB layers + busybox) from a local registry
 * Run: node bench/engine.ts [--runs 30] [--containers 50] [--pull-mb 200]
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildBusyboxRootfsTar } from '../test/e2e/engine-harness.ts';
import { layerTar, pushImage, startDistribution } from '../test/e2e/engine-registry.ts';
import { type Daemon, docker, runLatency, startDockerdDaemon, startWharfEngine, rssMb, closeDaemons } from './engine-daemons.ts';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '30' }, containers: { type: 'string', default: '50' }, 'pull-mb': { type: 'string', default: '200' } },
});
const runs = Number(values.runs);
const containerCount = Number(values.containers);
const pullMb = Number(values['pull-mb']);
// Loopback only on both sides, so this measures the engine, not its networking (bench/network.ts measures the bridge).
const runRm = ['run', '--rm', '--network', 'none', 'busybox', 'true'];
const runRmVolume = ['run', '--rm', '--network', 'none', '-v', 'benchvol:/d', 'busybox', 'true'];

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
    const latency = await runLatency(daemons.map((d) => ({ label: d.name, daemon: d, args: runRm })), runs);
    for (const [name, l] of Object.entries(latency)) console.log(`${name.padEnd(8)} median ${l.median.toFixed(1)} ms   p90 ${l.p90.toFixed(1)} ms`);
    console.log(`# the same with a named volume: docker run --rm -v benchvol:/d busybox true`);
    const volumeLatency = await runLatency(daemons.map((d) => ({ label: d.name, daemon: d, args: runRmVolume })), runs);
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
    await closeDaemons(daemons);
    await registry.close();
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
