/**
 * Garbage collection at scale: the same content laid out for wharf (blob files + meta.db rows) and for
 * distribution's filesystem driver (blobs/…/data + repository link files), then `bin/wharf gc` (online, here
 * with nothing else running) against distribution 2.8.2's offline `docker-registry garbage-collect`. Each manifest
 * is a config and `--layers` layers of its own; `--deleted` of the manifests are untagged and deleted, so their
 * blobs are garbage. Time and peak RSS come from /usr/bin/time.
 *
 * Then push throughput with and without a collection running: a `wharf registry serve` on a second copy of the
 * content takes `--push-lanes` concurrent streams of `--push-mib` MiB blob pushes (POST, then PUT with the
 * whole body), `--push-blobs` of them before, then as many as fit while `wharf gc` collects that root (at most
 * `--push-max`), then `--push-blobs` after. The ratio is the during-gc throughput over the mean of before and
 * after, as the issue asks (>= 0.8x). `--push-only` skips the collector comparison.
 *
 *   node bench/gc.ts [--manifests 10000] [--layers 3] [--repositories 100] [--deleted 0.2]
 *     [--push-mib 64] [--push-blobs 8] [--push-lanes 2] [--push-max 64] [--push-only]
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openDatabase } from '../src/meta/sqlite-database.ts';
import { SqliteMetadataStore } from '../src/meta/sqlite-metadata-store.ts';
import { mediaTypes } from '../src/oci/media-types.ts';
import { run } from '../test/support/run.ts';
import { spawnWharfProcess, wharfBin } from '../test/support/wharf.ts';
import { type PushLoad, pushThroughput } from './push-load.ts';

const { values } = parseArgs({
  options: {
    manifests: { type: 'string', default: '10000' },
    layers: { type: 'string', default: '3' },
    repositories: { type: 'string', default: '100' },
    deleted: { type: 'string', default: '0.2' },
    'push-mib': { type: 'string', default: '64' },
    'push-blobs': { type: 'string', default: '8' },
    'push-lanes': { type: 'string', default: '2' },
    'push-max': { type: 'string', default: '64' },
    'push-only': { type: 'boolean', default: false },
  },
});
const manifests = Number(values.manifests);
const layersPer = Number(values.layers);
const repositories = Number(values.repositories);
const deletedShare = Number(values.deleted);

interface Blob {
  digest: string;
  hex: string;
  data: Buffer;
}

const blobOf = (data: Buffer): Blob => {
  const hex = createHash('sha256').update(data).digest('hex');
  return { digest: `sha256:${hex}`, hex, data };
};

interface Image {
  repository: string;
  tag: string;
  deleted: boolean;
  manifest: Blob;
  config: Blob;
  layers: Blob[];
}

function makeImages(): Image[] {
  const images: Image[] = [];
  for (let i = 0; i < manifests; i++) {
    const config = blobOf(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, n: i })));
    const layers = Array.from({ length: layersPer }, () => blobOf(randomBytes(256)));
    const body = JSON.stringify({
      schemaVersion: 2,
      mediaType: mediaTypes.ociManifest,
      config: { mediaType: mediaTypes.ociConfig, digest: config.digest, size: config.data.length },
      layers: layers.map((l) => ({ mediaType: mediaTypes.ociLayerGzip, digest: l.digest, size: l.data.length })),
    });
    images.push({ repository: `bench/r${i % repositories}`, tag: `t${i}`, deleted: i % Math.round(1 / deletedShare) === 0, manifest: blobOf(Buffer.from(body)), config, layers });
  }
  return images;
}

const blobsOfImage = (image: Image) => [image.manifest, image.config, ...image.layers];

function writeFile(path: string, data: Buffer | string): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, data);
}

async function layOutWharf(root: string, images: Image[]): Promise<void> {
  // Used two hours ago: past a collection's grace, so its garbage goes, while blobs pushed during it stay.
  const used = new Date(Date.now() - 7_200_000);
  for (const image of images) {
    for (const b of blobsOfImage(image)) {
      const path = join(root, 'blobs', 'sha256', b.hex.slice(0, 2), b.hex);
      writeFile(path, b.data);
      utimesSync(path, used, used);
    }
  }
  const db = openDatabase(join(root, 'meta.db'));
  const meta = new SqliteMetadataStore(db);
  db.exec('BEGIN');
  for (const image of images.filter((i) => !i.deleted)) {
    await meta.putManifest({
      repository: image.repository,
      digest: image.manifest.digest,
      mediaType: mediaTypes.ociManifest,
      size: image.manifest.data.length,
      config: image.config.digest,
      blobs: [image.config, ...image.layers].map((b) => ({ digest: b.digest, size: b.data.length })),
      manifests: [],
      tag: image.tag,
    });
  }
  db.exec('COMMIT');
  db.close();
}

/** distribution's storage/paths.go: blob data, layer links, manifest revisions and tags; a deleted manifest has none. */
function layOutDistribution(dataDir: string, images: Image[]): void {
  const v2 = join(dataDir, 'docker', 'registry', 'v2');
  for (const image of images) {
    for (const b of blobsOfImage(image)) writeFile(join(v2, 'blobs', 'sha256', b.hex.slice(0, 2), b.hex, 'data'), b.data);
    const repo = join(v2, 'repositories', image.repository);
    for (const b of [image.config, ...image.layers]) writeFile(join(repo, '_layers', 'sha256', b.hex, 'link'), b.digest);
    if (image.deleted) continue;
    writeFile(join(repo, '_manifests', 'revisions', 'sha256', image.manifest.hex, 'link'), image.manifest.digest);
    writeFile(join(repo, '_manifests', 'tags', image.tag, 'current', 'link'), image.manifest.digest);
    writeFile(join(repo, '_manifests', 'tags', image.tag, 'index', 'sha256', image.manifest.hex, 'link'), image.manifest.digest);
  }
}

async function measure(command: string, args: string[]): Promise<{ seconds: number; cpuSeconds: number; rssMiB: number; output: string }> {
  const result = await run('/usr/bin/time', ['-f', 'BENCH %e %U %S %M', command, ...args], { timeoutMs: 3_600_000 });
  if (result.code !== 0) throw new Error(`${command} exited ${result.code}: ${result.stderr.slice(-2000)}`);
  const [, seconds, user, system, kib] = /BENCH ([\d.]+) ([\d.]+) ([\d.]+) (\d+)/.exec(result.stderr) ?? [];
  const output = result.stdout.trim().split('\n').at(-1) ?? '';
  return { seconds: Number(seconds), cpuSeconds: Number(user) + Number(system), rssMiB: Math.round(Number(kib) / 1024), output };
}

async function compareCollectors(dir: string, images: Image[]): Promise<void> {
  const wharfRoot = join(dir, 'wharf');
  const dataDir = join(dir, 'distribution');
  await layOutWharf(wharfRoot, images);
  layOutDistribution(dataDir, images);
  const config = join(dir, 'config.yml');
  writeFileSync(config, ['version: 0.1', 'log:', '  level: error', 'storage:', '  filesystem:', `    rootdirectory: ${dataDir}`, '  delete:', '    enabled: true'].join('\n'));
  await run('sync', []);
  const wharf = await measure(wharfBin, ['gc', '--root', wharfRoot, '--grace', '0']);
  const distribution = await measure('/usr/bin/docker-registry', ['garbage-collect', config]);
  console.log(`| collector | time (s) | peak RSS (MiB) |\n| --- | --- | --- |`);
  const collecting = /; ([\d.]+) s$/.exec(wharf.output)?.[1];
  console.log(`| wharf gc (online; process, of which collecting ${collecting} s) | ${wharf.seconds} | ${wharf.rssMiB} |`);
  console.log(`| docker-registry garbage-collect (offline) | ${distribution.seconds} | ${distribution.rssMiB} |`);
  console.log(`wharf: ${wharf.output}`);
  console.log(`distribution: ${distribution.output}`);
}

/** Pushes before, during and after a collection of `root`, served by a registry process of its own. */
async function pushesDuringGc(root: string): Promise<void> {
  const server = await spawnWharfProcess({ root });
  try {
    const load: PushLoad = { url: server.url, repository: 'push/blobs', mib: Number(values['push-mib']), lanes: Number(values['push-lanes']) };
    const count = Number(values['push-blobs']);
    await pushThroughput(load, { count: load.lanes }); // warm-up: the server's first pushes compile its paths
    const before = await pushThroughput(load, { count });
    let gc = { seconds: 0, cpuSeconds: 0, output: '' };
    const load1 = loadavg()[0];
    const during = await pushThroughput(load, {
      count: Number(values['push-max']),
      // The collection's window: from spawning `wharf gc` (its program load included) to its exit.
      while: async () => {
        gc = await measure(wharfBin, ['gc', '--root', root, '--grace', '600']);
      },
    });
    const after = await pushThroughput(load, { count });
    const quiet = (before.mibPerSecond + after.mibPerSecond) / 2;
    console.log(`| pushes (${load.lanes} lanes x ${load.mib} MiB blobs) | blobs | window (s) | MiB/s |\n| --- | ---: | ---: | ---: |`);
    for (const [name, r] of [['before gc', before], ['during gc', during], ['after gc', after]] as const) {
      console.log(`| ${name} | ${r.blobs} | ${r.seconds.toFixed(1)} | ${r.mibPerSecond.toFixed(1)} |`);
    }
    console.log(`during / mean(before, after) = ${(during.mibPerSecond / quiet).toFixed(2)}x; load average (1 min) ${load1.toFixed(1)} as gc started, ${loadavg()[0].toFixed(1)} at the end`);
    console.log(`gc: ${gc.seconds} s, ${gc.cpuSeconds.toFixed(1)} s of CPU; ${gc.output}`);
  } finally {
    await server.stop();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'wharf-gc-bench-'));
try {
  const images = makeImages();
  const garbage = images.filter((i) => i.deleted).length * (2 + layersPer);
  console.log(`${manifests} manifests, ${manifests * (2 + layersPer)} blobs, ${garbage} of them garbage, ${repositories} repositories`);
  if (!values['push-only']) await compareCollectors(dir, images);
  const pushRoot = join(dir, 'push');
  await layOutWharf(pushRoot, images);
  await run('sync', []);
  await pushesDuringGc(pushRoot);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
