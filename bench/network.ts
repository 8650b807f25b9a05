/**
 * wharf's networking side by side with dockerd 20.10 (Debian docker.io), driven by the same docker CLI:
 *   1. `docker run --rm busybox true` on each daemon's default bridge network (interleaved runs, median and p90),
 *      with wharf's `--network none` as the reference for the network's own cost
 *   2. 1 GiB over HTTP from a busybox httpd in a container through a port published on 127.0.0.1
 *      (`-p 127.0.0.1:<port>:80`), fetched by curl on the host (wharf: DNAT; dockerd: its userland proxy)
 * Run: node bench/network.ts [--runs 20] [--transfers 5]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildBusyboxRootfsTar } from '../test/e2e/engine-harness.ts';
import { freePort, waitFor } from '../test/support/ports.ts';
import { run } from '../test/support/run.ts';
import { type Daemon, docker, percentile, runLatency, startDockerdDaemon, startWharfEngine, closeDaemons } from './engine-daemons.ts';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '20' }, transfers: { type: 'string', default: '5' } } });
const runs = Number(values.runs);
const transfers = Number(values.transfers);
const payloadBytes = 1024 ** 3;
// A sparse file in the container's /tmp: no disk traffic, and httpd sends it with sendfile(2).
const serveScript = `dd if=/dev/zero of=/tmp/payload bs=1 count=0 seek=${payloadBytes} 2>/dev/null && exec httpd -f -p 80 -h /tmp`;

async function latency(wharf: Daemon, dockerd: Daemon): Promise<void> {
  const runRm = ['run', '--rm', 'busybox', 'true'];
  console.log(`# run latency: ${runs} interleaved runs of docker run --rm busybox true (default bridge network)`);
  const l = await runLatency(
    [
      { label: 'wharf', daemon: wharf, args: runRm },
      { label: 'dockerd', daemon: dockerd, args: runRm },
      { label: 'wharf --network none', daemon: wharf, args: ['run', '--rm', '--network', 'none', 'busybox', 'true'] },
    ],
    runs,
  );
  for (const [label, m] of Object.entries(l)) console.log(`${label.padEnd(22)} median ${m.median.toFixed(1)} ms   p90 ${m.p90.toFixed(1)} ms`);
  console.log(`ratio wharf/dockerd (median, aim <= 0.6): ${(l.wharf.median / l.dockerd.median).toFixed(2)}`);
}

/** curl of the whole payload to /dev/null, in its own process so the client is not what is measured. */
async function fetchOnce(port: number): Promise<number> {
  const result = await run('curl', ['-sS', '--fail', '--max-time', '120', '-o', '/dev/null', '-w', '%{size_download} %{time_total}', `http://127.0.0.1:${port}/payload`], {
    timeoutMs: 130_000,
  });
  const [size, seconds] = result.stdout.trim().split(' ').map(Number);
  if (result.code !== 0 || size !== payloadBytes) throw new Error(`curl on port ${port}: exit ${result.code}, ${size} bytes: ${result.stderr}`);
  return payloadBytes / 1024 ** 2 / seconds;
}

/** A published httpd on `daemon`, waited for until it answers and warmed up; removed by the returned function. */
async function startServer(daemon: Daemon): Promise<{ port: number; remove: () => Promise<void> }> {
  const port = await freePort();
  const name = `bench-net-${daemon.name}`;
  await docker(daemon, ['run', '-d', '--name', name, '-p', `127.0.0.1:${port}:80`, 'busybox', 'sh', '-c', serveScript], 60_000);
  const remove = async () => void (await docker(daemon, ['rm', '-f', name], 60_000));
  try {
    await waitFor(`${daemon.name}'s httpd`, async () => (await run('curl', ['-sSfI', '--max-time', '2', `http://127.0.0.1:${port}/payload`], { timeoutMs: 5_000 })).code === 0, 30_000);
    // Untimed: the first read of the sparse file fills the page cache and ran at half speed on both daemons.
    await fetchOnce(port);
  } catch (err) {
    await remove();
    throw err;
  }
  return { port, remove };
}

async function throughput(daemons: Daemon[]): Promise<void> {
  console.log(`# 1 GiB through a port published on 127.0.0.1 (busybox httpd -> curl), ${transfers} interleaved transfers each`);
  const servers = new Map<string, { port: number; remove: () => Promise<void> }>();
  try {
    for (const d of daemons) servers.set(d.name, await startServer(d));
    const samples: Record<string, number[]> = Object.fromEntries(daemons.map((d) => [d.name, []]));
    for (let i = 0; i < transfers; i++) {
      for (const d of daemons) samples[d.name].push(await fetchOnce(servers.get(d.name)!.port));
    }
    const medians: Record<string, number> = {};
    for (const [name, s] of Object.entries(samples)) {
      medians[name] = percentile([...s].sort((a, b) => a - b), 0.5);
      console.log(`${name.padEnd(22)} median ${medians[name].toFixed(1)} MiB/s   (${s.map((x) => x.toFixed(1)).join(', ')})`);
    }
    console.log(`ratio wharf/dockerd (median, aim >= 1.0): ${(medians.wharf / medians.dockerd).toFixed(2)}`);
  } finally {
    for (const server of servers.values()) await server.remove().catch(() => undefined);
  }
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'wharf-bench-net-'));
  const daemons: Daemon[] = [];
  try {
    daemons.push(await startWharfEngine(join(root, 'wharf')), await startDockerdDaemon());
    const tar = await buildBusyboxRootfsTar(root);
    for (const d of daemons) await docker(d, ['import', tar, 'busybox']);
    await latency(daemons[0], daemons[1]);
    await throughput(daemons);
  } finally {
    await closeDaemons(daemons);
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
