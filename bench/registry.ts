/**
 * Registry benchmark: wharf (`bin/wharf registry serve`, a child process) against CNCF distribution 2.8.2 (Debian's
 * docker-registry), both started here in the same run on loopback. Not a test: it prints figures and
 * wharf/distribution ratios as a markdown table.
 *
 *   node bench/registry.ts [--size 1G] [--chunk-mib 8] [--seconds 10] [--connections 64] [--runs 1] [--pulls 3]
 *                          [--pull-clients 1] [--cpu-prof DIR] [--wharf-env NAME=VALUE ...]
 *
 * Per target and run: push of a random layer monolithic (POST, then PUT ?digest= with the streamed body) and in
 * chunks (PATCH per chunk, PUT ?digest=), an untimed hashing pull to check the bytes; then pulls of that blob
 * (curl to /dev/null, --pulls times per target, the targets taking turns pull by pull, the median counts, with
 * the server's CPU per GiB; --pull-clients N: each timed pull is N curls of the blob at once, their bytes over
 * the time the last one took), then manifest GET by tag with wrk at N connections, and
 * the server's peak RSS while pushing and while pulling (VmRSS from /proc every 25 ms). With --runs > 1 the order of the targets alternates and medians are printed
 * (RSS: the highest peak); each run's figures go to stderr.
 * --cpu-prof DIR writes wharf's V8 CPU profile there (open in Chrome DevTools or speedscope).
 */
import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type BlobFile, writeRandomBlob } from '../test/support/busybox.ts';
import { startDistribution } from '../test/support/distribution.ts';
import { runOk } from '../test/support/run.ts';
import { makeTempDir } from '../test/support/temp.ts';
import { spawnWharfProcess } from '../test/support/wharf.ts';

const { values } = parseArgs({
  options: {
    size: { type: 'string' },
    'size-mib': { type: 'string' },
    'chunk-mib': { type: 'string', default: '8' },
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '64' },
    runs: { type: 'string', default: '1' },
    pulls: { type: 'string', default: '3' },
    'pull-clients': { type: 'string', default: '1' },
    'cpu-prof': { type: 'string' },
    'wharf-env': { type: 'string', multiple: true, default: [] },
  },
});

/** `1G`, `256M`, `512MiB`, `1GiB` or a bare number of MiB. */
function parseSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(k|m|g)?(i?b)?$/i.exec(text.trim());
  if (!match) throw new Error(`--size ${text}: expected e.g. 1G, 128M or a number of MiB`);
  const unit = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(match[2] ?? 'm').toLowerCase() as 'k' | 'm' | 'g'];
  return Math.round(Number(match[1]) * unit);
}

const sizeBytes = parseSize(values.size ?? values['size-mib'] ?? '1G');
const chunkBytes = Number(values['chunk-mib']) * 1024 * 1024;
const seconds = Number(values.seconds);
const connections = Number(values.connections);
const runs = Number(values.runs);
const pulls = Number(values.pulls);
const pullClients = Number(values['pull-clients']);
if (!Number.isInteger(pullClients) || pullClients < 1) throw new Error(`--pull-clients ${values['pull-clients']}: expected a whole number >= 1`);
const cpuProfDir = values['cpu-prof'] ? resolve(values['cpu-prof']) : undefined;
/** `--wharf-env K=V` (repeatable): environment for the wharf process, for experiments such as MALLOC_ARENA_MAX=1. */
const wharfEnv: Record<string, string> = Object.fromEntries(
  values['wharf-env'].map((pair) => {
    const at = pair.indexOf('=');
    if (at < 1) throw new Error(`--wharf-env ${pair}: expected NAME=VALUE`);
    return [pair.slice(0, at), pair.slice(at + 1)];
  }),
);

interface Target {
  name: string;
  url: string;
  pid: number;
}

interface Figures {
  monolithicMiBps: number;
  chunkedMiBps: number;
  pullMiBps: number;
  manifestRps: number;
  idleRssMiB: number;
  peakRssMonolithicMiB: number;
  peakRssChunkedMiB: number;
  peakRssPullMiB: number;
  /** The server's user + system CPU per GiB pulled (its threads included; /proc/<pid>/stat). */
  pullCpuSecondsPerGiB: number;
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
}

/** One HTTP exchange with node's http client; the response body is discarded. */
function send(method: string, url: string, options: { body?: Buffer | NodeJS.ReadableStream; headers?: Record<string, string | number> } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: options.headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', reject);
    if (options.body && 'pipe' in options.body) options.body.pipe(req);
    else req.end(options.body);
  });
}

const absolute = (base: string, location: string | string[] | undefined) => new URL(String(location), base).toString();

function withDigest(location: string, digest: string): string {
  const url = new URL(location);
  url.searchParams.set('digest', digest);
  return url.toString();
}

async function startUpload(target: Target, repo: string): Promise<string> {
  const start = await send('POST', `${target.url}/v2/${repo}/blobs/uploads/`);
  if (start.status !== 202) throw new Error(`${target.name}: POST answered ${start.status}`);
  return absolute(target.url, start.headers.location);
}

async function pushMonolithic(target: Target, repo: string, blob: BlobFile): Promise<void> {
  const location = await startUpload(target, repo);
  const done = await send('PUT', withDigest(location, blob.digest), {
    body: createReadStream(blob.path, { highWaterMark: 1024 * 1024 }),
    headers: { 'content-type': 'application/octet-stream', 'content-length': blob.size },
  });
  if (done.status !== 201) throw new Error(`${target.name}: monolithic push answered ${done.status}`);
}

async function pushChunked(target: Target, repo: string, blob: BlobFile): Promise<void> {
  let location = await startUpload(target, repo);
  for (let offset = 0; offset < blob.size; offset += chunkBytes) {
    const end = Math.min(offset + chunkBytes, blob.size) - 1;
    const res = await send('PATCH', location, {
      body: createReadStream(blob.path, { start: offset, end, highWaterMark: 1024 * 1024 }),
      headers: { 'content-type': 'application/octet-stream', 'content-length': end - offset + 1, 'content-range': `${offset}-${end}` },
    });
    if (res.status !== 202) throw new Error(`${target.name}: PATCH answered ${res.status}`);
    location = absolute(target.url, res.headers.location);
  }
  const done = await send('PUT', withDigest(location, blob.digest));
  if (done.status !== 201) throw new Error(`${target.name}: chunked commit answered ${done.status}`);
}

/**
 * curl as the timed pull client (its own process), so the figure is the server's and not a Node client's; one
 * curl is bound by its own copy out of the socket, several at once by the server's CPU.
 */
async function pull(target: Target, repo: string, blob: BlobFile): Promise<void> {
  await Promise.all(Array.from({ length: pullClients }, async () => {
    const out = await runOk('curl', ['-sf', '-o', '/dev/null', '-w', '%{size_download}', `${target.url}/v2/${repo}/blobs/${blob.digest}`]);
    if (Number(out) !== blob.size) throw new Error(`${target.name}: pulled ${out} bytes of ${blob.size}`);
  }));
}

/** Untimed: the pulled bytes hash to the digest (a fast wrong answer would be worthless). */
async function verifyPull(target: Target, repo: string, blob: BlobFile): Promise<void> {
  const res = await fetch(`${target.url}/v2/${repo}/blobs/${blob.digest}`);
  const hash = createHash('sha256');
  for await (const chunk of res.body ?? []) hash.update(chunk);
  if (`sha256:${hash.digest('hex')}` !== blob.digest) throw new Error(`${target.name}: pulled bytes do not match ${blob.digest}`);
}

/** User + system CPU seconds the process has used so far (clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function rssMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : 0;
}

/** Runs `work` while sampling the process's resident memory; returns the peak in MiB. */
async function withPeakRss(pid: number, work: () => Promise<void>): Promise<number> {
  let peak = rssMiB(pid);
  const timer = setInterval(() => (peak = Math.max(peak, rssMiB(pid))), 25);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return Math.max(peak, rssMiB(pid));
}

async function elapsed(work: () => Promise<void>): Promise<number> {
  const started = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - started) / 1e9;
}

async function pushSmallImage(target: Target, repo: string): Promise<void> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  const digest = `sha256:${createHash('sha256').update(config).digest('hex')}`;
  const location = await startUpload(target, repo);
  await send('PUT', withDigest(location, digest), { body: config, headers: { 'content-length': config.length } });
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest, size: config.length },
      layers: [],
    }),
  );
  const res = await send('PUT', `${target.url}/v2/${repo}/manifests/latest`, {
    body: manifest,
    headers: { 'content-type': 'application/vnd.docker.distribution.manifest.v2+json', 'content-length': manifest.length },
  });
  if (res.status !== 201) throw new Error(`${target.name}: manifest PUT answered ${res.status}`);
}

/** wrk (Debian's package) drives the load from its own process (2 threads, keep-alive connections). */
async function manifestRate(target: Target, repo: string): Promise<number> {
  const out = await runOk('wrk', [
    '-t2',
    `-c${connections}`,
    `-d${seconds}s`,
    '-H',
    'Accept: application/vnd.docker.distribution.manifest.v2+json',
    `${target.url}/v2/${repo}/manifests/latest`,
  ]);
  const rate = /Requests\/sec:\s+([\d.]+)/.exec(out);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  if (!rate || non2xx) throw new Error(`${target.name}: wrk failed\n${out}`);
  return Number(rate[1]);
}

type PullFigure = 'pullMiBps' | 'peakRssPullMiB' | 'pullCpuSecondsPerGiB' | 'manifestRps';

/** A target's pushes and memory in one run (its pulls: measurePulls; then measureManifests). */
async function measure(target: Target, blob: BlobFile, run: number): Promise<Omit<Figures, PullFigure>> {
  const mib = blob.size / (1024 * 1024);
  const idleRssMiB = rssMiB(target.pid);
  let monolithic = 0;
  let chunked = 0;
  const peakRssMonolithicMiB = await withPeakRss(target.pid, async () => {
    monolithic = await elapsed(() => pushMonolithic(target, `bench/monolithic${run}`, blob));
  });
  const peakRssChunkedMiB = await withPeakRss(target.pid, async () => {
    chunked = await elapsed(() => pushChunked(target, `bench/chunked${run}`, blob));
  });
  await verifyPull(target, `bench/chunked${run}`, blob);
  return { monolithicMiBps: mib / monolithic, chunkedMiBps: mib / chunked, idleRssMiB, peakRssMonolithicMiB, peakRssChunkedMiB };
}

/** The manifest GET rate, after the pulls (as before they were taken turn by turn), so those see the same heap. */
async function measureManifests(target: Target): Promise<number> {
  await pushSmallImage(target, 'bench/manifest');
  return manifestRate(target, 'bench/manifest');
}

/**
 * The pulls of a run, the targets taking turns pull by pull: the machine is shared, and a burst of other work
 * would otherwise land on one target's whole block of pulls. A pull takes a second or less: the median of a few
 * says more than one. Then each run's blob is deleted, so the next run pushes it afresh (both registries skip
 * known blobs otherwise).
 */
async function measurePulls(targets: Target[], blob: BlobFile, run: number): Promise<Map<Target, Pick<Figures, Exclude<PullFigure, 'manifestRps'>>>> {
  const mib = blob.size / (1024 * 1024);
  const pulled = new Map<Target, number[]>(targets.map((t) => [t, []]));
  const cpu = new Map<Target, number>(targets.map((t) => [t, 0]));
  const peaks = new Map<Target, number>(targets.map((t) => [t, 0]));
  for (let i = 0; i < pulls; i++) {
    for (const target of i % 2 === 0 ? targets : [...targets].reverse()) {
      const cpuBefore = cpuSeconds(target.pid);
      const peak = await withPeakRss(target.pid, async () => {
        pulled.get(target)?.push(await elapsed(() => pull(target, `bench/monolithic${run}`, blob)));
      });
      cpu.set(target, (cpu.get(target) ?? 0) + cpuSeconds(target.pid) - cpuBefore);
      peaks.set(target, Math.max(peaks.get(target) ?? 0, peak));
    }
  }
  for (const target of targets) {
    for (const repo of [`bench/monolithic${run}`, `bench/chunked${run}`]) await send('DELETE', `${target.url}/v2/${repo}/blobs/${blob.digest}`);
  }
  return new Map(targets.map((t) => [t, {
    pullMiBps: (pullClients * mib) / median(pulled.get(t) ?? []),
    peakRssPullMiB: peaks.get(t) ?? 0,
    pullCpuSecondsPerGiB: (cpu.get(t) ?? 0) / ((pulls * pullClients * blob.size) / 1024 ** 3),
  }]));
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function medianFigures(all: Figures[]): Figures {
  const keys = Object.keys(all[0]) as (keyof Figures)[];
  return Object.fromEntries(keys.map((k) => [k, k.startsWith('peakRss') ? Math.max(...all.map((f) => f[k])) : median(all.map((f) => f[k]))])) as unknown as Figures;
}

/** The 1-minute load average: the machine is shared, so every table says how busy it was. */
const load = () => loadavg()[0].toFixed(2);

async function main(): Promise<void> {
  const loadBefore = load();
  const tmp = makeTempDir('wharf-bench-');
  if (cpuProfDir) mkdirSync(cpuProfDir, { recursive: true });
  try {
    const blob = await writeRandomBlob(join(tmp.path, 'layer.bin'), sizeBytes);
    const distribution = await startDistribution();
    const wharf = await spawnWharfProcess({
      root: join(tmp.path, 'wharf'),
      env: { ...wharfEnv, ...(cpuProfDir ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${cpuProfDir}` } : {}) },
    });
    const targets: Target[] = [
      { name: 'distribution', url: distribution.url, pid: distribution.pid },
      { name: 'wharf', url: wharf.url, pid: wharf.pid },
    ];
    const results: Record<string, Figures[]> = { wharf: [], distribution: [] };
    try {
      for (let run = 0; run < runs; run++) {
        // Alternate who goes first: the second target runs with a page cache the first one warmed.
        const order = run % 2 === 0 ? targets : [...targets].reverse();
        const measured = new Map<Target, Omit<Figures, PullFigure>>();
        for (const target of order) measured.set(target, await measure(target, blob, run));
        const pulled = await measurePulls(order, blob, run);
        for (const target of order) {
          const figures = { ...measured.get(target), ...pulled.get(target), manifestRps: await measureManifests(target) } as Figures;
          console.error(`run ${run + 1} ${target.name}: ${Object.entries(figures).map(([k, v]) => `${k}=${v.toFixed(1)}`).join(' ')}`);
          results[target.name].push(figures);
        }
      }
    } finally {
      await wharf.stop();
      await distribution.close();
    }
    print(medianFigures(results.wharf), medianFigures(results.distribution), blob.size, `${loadBefore} before, ${load()} after`);
    if (cpuProfDir) console.log(`\nwharf CPU profile written to ${cpuProfDir}`);
  } finally {
    tmp.remove();
  }
}

function print(wharf: Figures, distribution: Figures, size: number, loads: string): void {
  const mib = `${+(size / 1048576).toFixed(1)} MiB`;
  const rows: [string, keyof Figures, string, string][] = [
    [`push ${mib} monolithic (POST + PUT ?digest)`, 'monolithicMiBps', 'MiB/s', '>= 1'],
    [`push ${mib} in ${chunkBytes / 1048576} MiB chunks (PATCH)`, 'chunkedMiBps', 'MiB/s', '>= 1'],
    [`pull ${mib} (GET${pullClients > 1 ? `, ${pullClients} clients at once` : ''}, median of ${pulls})`, 'pullMiBps', 'MiB/s', '>= 1'],
    ['server CPU per GiB pulled (user + system)', 'pullCpuSecondsPerGiB', 's', ''],
    [`manifest GET by tag, ${connections} connections`, 'manifestRps', 'req/s', '>= 2'],
    ['RSS before the pushes (idle)', 'idleRssMiB', 'MiB', ''],
    ['peak RSS pushing monolithic', 'peakRssMonolithicMiB', 'MiB', 'wharf < 150 MiB'],
    ['peak RSS pushing in chunks', 'peakRssChunkedMiB', 'MiB', 'wharf < 150 MiB'],
    ['peak RSS pulling', 'peakRssPullMiB', 'MiB', 'wharf < 150 MiB'],
  ];
  const env = Object.entries(wharfEnv).map(([k, v]) => `${k}=${v}`).join(' ');
  console.log(`runs: ${runs}${runs > 1 ? ' (medians; RSS: the highest peak)' : ''}, node ${process.version}, ${new Date().toISOString()}, load average ${loads}${env ? `, wharf env: ${env}` : ''}\n`);
  console.log('| measure | wharf | distribution 2.8.2 | wharf/distribution | aim |');
  console.log('| --- | ---: | ---: | ---: | --- |');
  for (const [label, key, unit, aim] of rows) {
    const digits = unit === 's' ? 2 : 1;
    console.log(`| ${label} | ${wharf[key].toFixed(digits)} ${unit} | ${distribution[key].toFixed(digits)} ${unit} | ${(wharf[key] / distribution[key]).toFixed(2)} | ${aim} |`);
  }
}

await main();
