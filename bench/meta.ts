/**
 * The metadata engines side by side: one in-process `wharf` registry on SQLite (<root>/meta.db) and one on a
 * private PostgreSQL 15 (test/support/postgres.ts, on this machine, over loopback TCP), the same filesystem blob
 * store under each. Rounds alternate between the two so load drifts hit both alike.
 *
 * - manifest GET by tag over HTTP: `--gets` sequential requests (latency), then the same count from `--lanes`
 *   concurrent clients (throughput);
 * - push over HTTP: `--pushes` images of a unique 64-byte config plus one shared layer: the config's monolithic
 *   POST and the manifest PUT (the layer exists: its HEAD answers from the link), per image;
 * - the store calls alone, no HTTP: what a tag GET asks the MetadataStore (getTaggedManifest) and what a
 *   push writes (createUpload, deleteUpload, linkBlob, putManifest with its tag), per request;
 * - on PostgreSQL, the queries (each one round trip: node-postgres pipelines nothing) per GET and per push.
 *
 *   node bench/meta.ts [--gets 2000] [--pushes 200] [--lanes 8] [--rounds 3]
 */
import { createHash, randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/base/config.ts';
import { createLogger } from '../src/base/log.ts';
import { type OpenedMeta, openMeta } from '../src/main/open-meta.ts';
import { type RunningWharf, startWharf } from '../src/main/start-wharf.ts';
import { mediaTypes } from '../src/oci/media-types.ts';
import { startPostgres } from '../test/support/postgres.ts';
import { makeTempDir } from '../test/support/temp.ts';
import { postBlob } from '../test/support/tiny-image.ts';
import { countPgQueries } from './pg-query-count.ts';

const { values } = parseArgs({
  options: {
    gets: { type: 'string', default: '2000' },
    pushes: { type: 'string', default: '200' },
    lanes: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '3' },
  },
});
const gets = Number(values.gets);
const pushes = Number(values.pushes);
const lanes = Number(values.lanes);
const rounds = Number(values.rounds);

const digestOf = (body: Buffer) => `sha256:${createHash('sha256').update(body).digest('hex')}`;

interface Engine {
  name: string;
  /** Queries sent by every pg client of this process so far. */
  queries: () => number;
  url: string;
  stores: OpenedMeta;
  running: RunningWharf;
  pushed: number;
}

type Results = Record<string, Record<string, number[]>>;

async function main(): Promise<void> {
  const loadBefore = loadavg();
  const queries = countPgQueries();
  const tmp = makeTempDir('wharf-bench-meta-');
  const server = await startPostgres({ database: 'bench' });
  const engines: Engine[] = [];
  try {
    engines.push(await startEngine('sqlite', join(tmp.path, 'sqlite'), '', () => 0));
    engines.push(await startEngine('postgres', join(tmp.path, 'pg'), server.url, queries));
    const layer = randomBytes(4096);
    for (const engine of engines) await prepare(engine, layer);
    const results: Results = {};
    for (let round = 0; round < rounds; round++) {
      for (const engine of engines) await measure(engine, layer, (results[engine.name] ??= {}));
    }
    report(results, loadBefore);
  } finally {
    for (const engine of engines) {
      await engine.running.close();
      await engine.stores.close();
    }
    await server.close();
    tmp.remove();
  }
}

async function startEngine(name: string, root: string, metaUrl: string, queries: () => number): Promise<Engine> {
  const config = loadConfig({ overrides: { root, meta: { url: metaUrl }, registry: { addr: '127.0.0.1:0', metrics: { enabled: false } } } });
  const running = await startWharf(config, { parts: ['registry'], logger: createLogger({ level: 'silent' }) });
  return { name, queries, url: running.registryUrl ?? '', stores: await openMeta(config), running, pushed: 0 };
}

/** The shared layer and a tagged image to GET. */
async function prepare(engine: Engine, layer: Buffer): Promise<void> {
  await postBlob(engine.url, 'bench/app', layer);
  await pushImage(engine, 'bench/app', 'latest', layer);
}

async function measure(engine: Engine, layer: Buffer, into: Record<string, number[]>): Promise<void> {
  const manifestUrl = `${engine.url}/v2/bench/app/manifests/latest`;
  const get = async () => {
    const response = await fetch(manifestUrl, { headers: { accept: mediaTypes.ociManifest } });
    if (response.status !== 200) throw new Error(`GET manifest: ${response.status}`);
    await response.arrayBuffer();
  };
  let before = engine.queries();
  push(into, 'GET ms/req sequential', (await timed(gets, get)) / gets);
  push(into, 'GET queries/req (PostgreSQL)', (engine.queries() - before) / gets);
  const started = performance.now();
  await Promise.all(Array.from({ length: lanes }, () => timed(Math.ceil(gets / lanes), get)));
  push(into, `GET req/s ${lanes} lanes`, (Math.ceil(gets / lanes) * lanes) / ((performance.now() - started) / 1000));
  before = engine.queries();
  push(into, 'push ms/image (POST config + HEAD layer + PUT manifest)', (await timed(pushes, () => pushImage(engine, 'bench/push', `t${engine.pushed++}`, layer))) / pushes);
  push(into, 'push queries/image (PostgreSQL)', (engine.queries() - before) / pushes);
  const { meta } = engine.stores;
  push(into, 'store: GET lookups ms/req', (await timed(gets, async () => {
    if (!(await meta.getTaggedManifest('bench/app', 'latest'))) throw new Error('tag lost');
  })) / gets);
  push(into, 'store: push writes ms/image', (await timed(pushes, () => storePush(engine, layer))) / pushes);
}

async function timed(count: number, work: () => Promise<void>): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < count; i++) await work();
  return performance.now() - started;
}

function push(into: Record<string, number[]>, key: string, value: number): void {
  (into[key] ??= []).push(value);
}

async function pushImage(engine: Engine, repository: string, tag: string, layer: Buffer): Promise<void> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [digestOf(layer)] }, nonce: randomBytes(8).toString('hex') }));
  const { digest: configDigest } = await postBlob(engine.url, repository, config);
  const head = await fetch(`${engine.url}/v2/${repository}/blobs/${digestOf(layer)}`, { method: 'HEAD' });
  if (head.status !== 200) await postBlob(engine.url, repository, layer);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: mediaTypes.ociManifest,
    config: { mediaType: mediaTypes.ociConfig, digest: configDigest, size: config.length },
    layers: [{ mediaType: mediaTypes.ociLayerGzip, digest: digestOf(layer), size: layer.length }],
  });
  const response = await fetch(`${engine.url}/v2/${repository}/manifests/${tag}`, { method: 'PUT', body: manifest, headers: { 'content-type': mediaTypes.ociManifest } });
  if (response.status !== 201) throw new Error(`PUT manifest: ${response.status} ${await response.text()}`);
}

/** The metadata a push writes, straight on the store (no blob bytes, no HTTP). */
async function storePush(engine: Engine, layer: Buffer): Promise<void> {
  const { meta } = engine.stores;
  const n = engine.pushed++;
  const config = { digest: digestOf(Buffer.from(`config-${engine.name}-${n}`)), size: 64 };
  const id = `bench-${n}`;
  await meta.createUpload({ id, repository: 'bench/store', startedAt: new Date().toISOString() });
  await meta.deleteUpload(id);
  await meta.linkBlob('bench/store', config);
  await meta.putManifest({
    repository: 'bench/store',
    digest: digestOf(Buffer.from(`manifest-${engine.name}-${n}`)),
    mediaType: mediaTypes.ociManifest,
    size: 400,
    config: config.digest,
    blobs: [config, { digest: digestOf(layer), size: layer.length }],
    manifests: [],
    tag: `s${n}`,
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function report(results: Results, loadBefore: number[]): void {
  const [sqlite, postgres] = [results.sqlite, results.postgres];
  console.log(`load average before: ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}; ${gets} GETs, ${pushes} pushes, ${lanes} lanes, median of ${rounds} rounds`);
  console.log('| measure | SQLite | PostgreSQL | PostgreSQL / SQLite |');
  console.log('| --- | --- | --- | --- |');
  for (const key of Object.keys(sqlite)) {
    const a = median(sqlite[key]);
    const b = median(postgres[key]);
    console.log(`| ${key} | ${a.toFixed(3)} | ${b.toFixed(3)} | ${a > 0 ? `${(b / a).toFixed(2)}×` : '—'} |`);
  }
}

await main();
