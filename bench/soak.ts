/**
 * Soak: `wharf serve` (the supervisor with the registry and the engine each in its own process) on a temp root and
 * a loopback port, under a mixed load for N minutes, then a short idle. Not a test: it prints a table.
 *
 *   node bench/soak.ts [--minutes 30] [--layer-kib 64] [--sample-seconds 10] [--idle-seconds 30]
 *
 * Two loops run side by side until the time is up, each bounded in operations and each operation in time:
 *   registry: push a small random image on busybox (the busybox layer, mounted after the first push, plus a
 *             fresh random layer) with wharf's own registry client, then pull an earlier one with skopeo;
 *   engine:   `docker run --rm busybox` and `docker create` + `docker rm`, the docker CLI on the engine socket.
 * Every sample (VmRSS of each part's process, found by the process tree below the supervisor) goes to stderr;
 * the table gives per minute the RSS of each part at its last sample, the operations done and the errors.
 * Minute 0 is before the load, "idle" after it.
 */
import { createHash } from 'node:crypto';
import { createReadStream, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { RegistryClient } from '../src/client/registry-client.ts';
import { putManifest, uploadBlob } from '../src/client/registry-push.ts';
import { digestOf } from '../src/oci/digest.ts';
import { buildBusyboxRootfsTar, writeRandomLayerTar } from '../test/support/busybox.ts';
import { runDocker } from '../test/e2e/engine-harness.ts';
import { skopeoCopy } from '../test/support/skopeo.ts';
import { makeTempDir } from '../test/support/temp.ts';
import { spawnWharfServe, type WharfServeProcess } from '../test/support/wharf.ts';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    'layer-kib': { type: 'string', default: '64' },
    'sample-seconds': { type: 'string', default: '10' },
    'idle-seconds': { type: 'string', default: '30' },
  },
});
const minutes = Number(values.minutes);
const layerBytes = Number(values['layer-kib']) * 1024;
const sampleMs = Number(values['sample-seconds']) * 1000;
const idleMs = Number(values['idle-seconds']) * 1000;
if (!(minutes > 0 && layerBytes > 0 && sampleMs >= 1000 && idleMs >= 0)) throw new Error('--minutes, --layer-kib > 0, --sample-seconds >= 1');

/** One operation may take this long before it counts as an error (a hung one must not stall the soak). */
const opTimeoutMs = 60_000;
/** No loop does more than this many operations a second on average, whatever the machine. */
const maxOpsPerSecond = 20;
/** A loop that has failed for this long without a success stops: the part is down, the rest is noise. */
const maxFailingMs = 120_000;

type PartName = 'registry' | 'engine';

interface Sample {
  atMs: number;
  rss: Record<PartName, number | undefined>;
  pids: Record<PartName, number | undefined>;
  ops: Record<PartName, number>;
  errors: number;
}

/** What both loops and the sampler share; the counters only grow. */
interface Tally {
  ops: Record<PartName, number>;
  errors: { atMs: number; part: PartName; message: string }[];
  startedAt: number;
}

interface Layer {
  digest: string;
  size: number;
  path: string;
}

async function describeFile(path: string): Promise<Layer> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { digest: `sha256:${hash.digest('hex')}`, size, path };
}

/** pid -> parent pid of every live process. */
function parentPids(): Map<number, number> {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The command name (field 2) may hold spaces and parentheses: the fields after the last ')' are plain.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // Gone while we looked.
    }
  }
  return parents;
}

/**
 * Each part's process: a child of the supervisor running part-entry.ts with the part's name as its argument.
 * Where `wharf serve` still runs every part in one process, both are that process.
 */
function partPids(supervisor: number): Record<PartName, number | undefined> {
  const found: Record<PartName, number | undefined> = { registry: undefined, engine: undefined };
  for (const [pid, parent] of parentPids()) {
    if (parent !== supervisor) continue;
    const argv = readArgv(pid);
    const entry = argv.findIndex((arg) => arg.endsWith('part-entry.ts'));
    const name = argv[entry + 1];
    if (entry >= 0 && (name === 'registry' || name === 'engine')) found[name] = pid;
  }
  if (found.registry === undefined && found.engine === undefined) return { registry: supervisor, engine: supervisor };
  return found;
}

function readArgv(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

function rssMiB(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

function takeSample(supervisor: number, tally: Tally): Sample {
  const pids = partPids(supervisor);
  return {
    atMs: Date.now() - tally.startedAt,
    pids,
    rss: { registry: rssMiB(pids.registry), engine: rssMiB(pids.engine) },
    ops: { ...tally.ops },
    errors: tally.errors.length,
  };
}

const mib = (value: number | undefined) => (value === undefined ? '-' : value.toFixed(1));

function logSample(sample: Sample, previous: Sample | undefined): void {
  const restarted = (['registry', 'engine'] as const).filter((part) => previous && previous.pids[part] !== sample.pids[part]);
  console.error(
    `${(sample.atMs / 1000).toFixed(0).padStart(5)} s  registry ${mib(sample.rss.registry)} MiB (pid ${sample.pids.registry})` +
      `  engine ${mib(sample.rss.engine)} MiB (pid ${sample.pids.engine})  ops ${sample.ops.registry}+${sample.ops.engine}  errors ${sample.errors}` +
      (restarted.length ? `  NEW PID: ${restarted.join(', ')}` : ''),
  );
}

/**
 * Runs `op` until the deadline or the operation cap, counting successes and keeping every error. After an error
 * it waits a little longer each time (a part the supervisor is restarting comes back within seconds).
 */
async function loop(part: PartName, deadline: number, tally: Tally, op: (i: number) => Promise<void>): Promise<void> {
  const maxOps = Math.ceil(((deadline - Date.now()) / 1000) * maxOpsPerSecond);
  let failingSince: number | undefined;
  for (let i = 0, streak = 0; i < maxOps && Date.now() < deadline; i++) {
    try {
      await op(i);
      tally.ops[part]++;
      failingSince = undefined;
      streak = 0;
    } catch (err) {
      tally.errors.push({ atMs: Date.now() - tally.startedAt, part, message: (err as Error).message.trim().slice(0, 300) });
      failingSince ??= Date.now();
      if (Date.now() - failingSince > maxFailingMs) return void console.error(`${part} loop stops: nothing but errors for ${maxFailingMs / 1000} s`);
      await sleep(Math.min(250 * ++streak, 5000, Math.max(0, deadline - Date.now())));
    }
  }
}

interface RegistryLoad {
  host: string;
  work: string;
  busybox: Layer;
  client: RegistryClient;
}

/** An image of the busybox layer and `random` (uncompressed OCI layers, so diff_ids are the digests). */
async function pushImage(load: RegistryLoad, repository: string, tag: string, random: Layer): Promise<void> {
  const signal = AbortSignal.timeout(opTimeoutMs);
  const session = load.client.session(load.host, repository, {}, ['pull', 'push']);
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: [load.busybox.digest, random.digest] } }),
  );
  const configDigest = digestOf(config);
  await uploadBlob(session, repository, { digest: configDigest, size: config.length, open: async () => Readable.from([config]) }, signal);
  for (const layer of [load.busybox, random]) {
    await uploadBlob(session, repository, { digest: layer.digest, size: layer.size, open: async () => createReadStream(layer.path) }, signal);
  }
  const layerDescriptor = (l: Layer) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: l.digest, size: l.size });
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: [layerDescriptor(load.busybox), layerDescriptor(random)],
    }),
  );
  const digest = digestOf(bytes);
  await putManifest(session, repository, tag, { bytes, mediaType: 'application/vnd.oci.image.manifest.v1+json', digest }, signal);
}

/** Even steps push a fresh image over 8 repositories x 16 tags; odd steps pull the one pushed before with skopeo. */
async function registryStep(load: RegistryLoad, i: number): Promise<void> {
  const ref = (n: number) => ({ repository: `soak/r${n % 8}`, tag: `t${n % 16}` });
  if (i % 2 === 0) {
    const random = await writeRandomLayerTar(join(load.work, 'random.tar'), layerBytes);
    try {
      const { repository, tag } = ref(i);
      await pushImage(load, repository, tag, random);
    } finally {
      rmSync(random.path, { force: true });
    }
    return;
  }
  const { repository, tag } = ref(i - 1);
  const into = join(load.work, 'pulled');
  try {
    await skopeoCopy(`docker://${load.host}/${repository}:${tag}`, `dir:${into}`, { timeoutMs: opTimeoutMs });
  } finally {
    rmSync(into, { recursive: true, force: true });
  }
}

/** Even steps `docker run --rm`; odd steps `docker create` then `docker rm` by name. */
async function engineStep(env: Record<string, string>, i: number): Promise<void> {
  const docker = async (args: string[]) => {
    const result = await runDocker(args, env, { timeoutMs: opTimeoutMs });
    if (result.code !== 0) throw new Error(`docker ${args.join(' ')} exited ${result.code}: ${result.stderr.trim()}`);
    return result.stdout;
  };
  if (i % 2 === 0) {
    const out = await docker(['run', '--rm', 'busybox', 'echo', `soak ${i}`]);
    if (out !== `soak ${i}\n`) throw new Error(`docker run --rm printed ${JSON.stringify(out)}`);
    return;
  }
  await docker(['create', '--name', `soak-${i}`, 'busybox', 'true']);
  await docker(['rm', `soak-${i}`]);
}

function printTable(samples: Sample[], loadEndMs: number, startedAt: number): void {
  console.log(`soak: ${minutes} min of load then ${idleMs / 1000} s idle, node ${process.version}, from ${new Date(startedAt).toISOString()}\n`);
  console.log('| minute | registry RSS MiB | engine RSS MiB | registry ops | engine ops | errors |');
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: |');
  let previous = samples[0];
  const row = (label: string, s: Sample) => {
    console.log(
      `| ${label} | ${mib(s.rss.registry)} | ${mib(s.rss.engine)} | ${s.ops.registry - previous.ops.registry} | ${s.ops.engine - previous.ops.engine} | ${s.errors - previous.errors} |`,
    );
    previous = s;
  };
  row('0', samples[0]);
  // A sample lands a few ms after its mark: the one nearest each minute counts; the last minute takes the load's tail.
  const rows = Math.ceil(minutes);
  for (let minute = 1; minute <= rows; minute++) {
    const until = minute === rows ? loadEndMs : Math.min(minute * 60_000 + sampleMs / 2, loadEndMs);
    const last = samples.findLast((s) => s.atMs <= until);
    if (last && last !== previous) row(String(minute), last);
  }
  const end = samples[samples.length - 1];
  row('idle', end);
  const peak = (part: PartName) => Math.max(...samples.map((s) => s.rss[part] ?? 0));
  console.log(`\npeak RSS: registry ${mib(peak('registry'))} MiB, engine ${mib(peak('engine'))} MiB; ops: registry ${end.ops.registry}, engine ${end.ops.engine}`);
}

function printErrors(tally: Tally, wharf: WharfServeProcess): void {
  const logged = wharf.logs().filter((line) => typeof line.level === 'number' && line.level >= 50);
  const restarts = wharf.logs().filter((line) => line.part === 'supervisor' && line.msg === 'part ready' && line.restarted === true);
  console.log(
    `errors: ${tally.errors.length} from the clients, ${logged.length} of ${wharf.logs().length} wharf log lines at error or fatal, ${restarts.length} part restarts`,
  );
  // The same failure repeats while a part is down: one line per kind (numbers aside), with its count and first time.
  const kinds = Map.groupBy(tally.errors, (e) => `${e.part}: ${e.message.split('\n')[0].replace(/\d+/g, 'N')}`);
  for (const [, same] of kinds) console.log(`  ${same.length} x from ${(same[0].atMs / 1000).toFixed(0)} s, ${same[0].part}: ${same[0].message.split('\n')[0]}`);
  for (const { level, time, pid, hostname, name, ...line } of logged.slice(0, 20)) console.log(`  wharf: ${JSON.stringify(line)}`);
}

async function setUp(work: string, wharf: WharfServeProcess): Promise<{ load: RegistryLoad; env: Record<string, string> }> {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: work, DOCKER_HOST: `unix://${wharf.socket}`, DOCKER_CONFIG: join(work, 'cli') };
  const busyboxTar = await buildBusyboxRootfsTar(work);
  const imported = await runDocker(['import', busyboxTar, 'busybox'], env, { timeoutMs: opTimeoutMs });
  if (imported.code !== 0) throw new Error(`docker import: ${imported.stderr}`);
  return { load: { host: wharf.host, work, busybox: await describeFile(busyboxTar), client: new RegistryClient() }, env };
}

async function soak(work: string, wharf: WharfServeProcess): Promise<void> {
  const { load, env } = await setUp(work, wharf);
  const tally: Tally = { ops: { registry: 0, engine: 0 }, errors: [], startedAt: Date.now() };
  const samples = [takeSample(wharf.pid, tally)];
  logSample(samples[0], undefined);
  const sampler = setInterval(() => {
    samples.push(takeSample(wharf.pid, tally));
    logSample(samples[samples.length - 1], samples[samples.length - 2]);
  }, sampleMs);
  const deadline = tally.startedAt + minutes * 60_000;
  try {
    await Promise.all([loop('registry', deadline, tally, (i) => registryStep(load, i)), loop('engine', deadline, tally, (i) => engineStep(env, i))]);
    const loadEnd = takeSample(wharf.pid, tally);
    samples.push(loadEnd);
    await sleep(idleMs);
    samples.push(takeSample(wharf.pid, tally));
    clearInterval(sampler);
    printTable(samples.sort((a, b) => a.atMs - b.atMs), loadEnd.atMs, tally.startedAt);
    printErrors(tally, wharf);
  } finally {
    clearInterval(sampler);
  }
}

async function main(): Promise<void> {
  const tmp = makeTempDir('wharf-soak-');
  try {
    const wharf = await spawnWharfServe({ root: join(tmp.path, 'root'), logLevel: 'info' });
    try {
      await soak(tmp.path, wharf);
    } finally {
      await wharf.stop();
    }
  } finally {
    tmp.remove();
  }
}

await main();
