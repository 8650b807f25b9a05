/**
 * S3 storage benchmark: `wharf registry serve` with `storage.driver: s3` on a single-node Ceph radosgw (memstore
 * OSD, test/support/ceph.ts) against the same wharf on the filesystem, both started here in the same run on
 * loopback, plus the S3 wharf with `storage.s3.redirect` (the pull is curl following the 307 to radosgw). Not a
 * test: it prints a markdown table.
 *
 *   node bench/s3.ts [--size-mib 256] [--runs 3]
 *
 * Per target and run: a monolithic push of one random blob (POST, then PUT ?digest= with the streamed body), a
 * pull of it with curl to /dev/null, and the wharf process's peak RSS over both (VmRSS every 25 ms). The order of
 * the targets alternates between runs; medians are printed (RSS: the highest peak).
 */
import { createReadStream, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type BlobFile, writeRandomBlob } from '../test/support/busybox.ts';
import { startCephS3, type CephS3 } from '../test/support/ceph.ts';
import { runOk } from '../test/support/run.ts';
import { makeTempDir } from '../test/support/temp.ts';
import { spawnWharfProcess, type WharfProcess } from '../test/support/wharf.ts';

const { values } = parseArgs({ options: { 'size-mib': { type: 'string', default: '256' }, runs: { type: 'string', default: '3' } } });
const sizeBytes = Number(values['size-mib']) * 1024 * 1024;
const runs = Number(values.runs);

interface Target {
  name: string;
  wharf: WharfProcess;
  /** curl follows the registry's redirect to S3. */
  follow: boolean;
}

interface Figures {
  pushSeconds: number;
  pullSeconds: number;
  peakRssMiB: number;
}

function put(url: string, blob: BlobFile): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'PUT', headers: { 'content-type': 'application/octet-stream', 'content-length': blob.size } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    createReadStream(blob.path, { highWaterMark: 1024 * 1024 }).pipe(req);
  });
}

async function push(target: Target, repo: string, blob: BlobFile): Promise<void> {
  const start = await fetch(`${target.wharf.url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  if (start.status !== 202) throw new Error(`${target.name}: POST answered ${start.status}`);
  const location = new URL(String(start.headers.get('location')), target.wharf.url);
  location.searchParams.set('digest', blob.digest);
  const status = await put(location.toString(), blob);
  if (status !== 201) throw new Error(`${target.name}: push answered ${status}`);
}

async function pull(target: Target, repo: string, blob: BlobFile): Promise<void> {
  const out = await runOk('curl', ['-sf', ...(target.follow ? ['-L'] : []), '-o', '/dev/null', '-w', '%{size_download}', `${target.wharf.url}/v2/${repo}/blobs/${blob.digest}`]);
  if (Number(out) !== blob.size) throw new Error(`${target.name}: pulled ${out} bytes of ${blob.size}`);
}

function rssMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : 0;
}

async function elapsed(work: () => Promise<void>): Promise<number> {
  const started = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - started) / 1e9;
}

async function measure(target: Target, blob: BlobFile, run: number): Promise<Figures> {
  const pid = target.wharf.pid;
  let peak = rssMiB(pid);
  const timer = setInterval(() => (peak = Math.max(peak, rssMiB(pid))), 25);
  try {
    const repo = `bench/run${run}`;
    const pushSeconds = await elapsed(() => push(target, repo, blob));
    const pullSeconds = await elapsed(() => pull(target, repo, blob));
    return { pushSeconds, pullSeconds, peakRssMiB: Math.max(peak, rssMiB(pid)) };
  } finally {
    clearInterval(timer);
  }
}

function s3Config(dir: string, ceph: CephS3, prefix: string, redirect: boolean): string {
  const file = join(dir, `${prefix}.yaml`);
  writeFileSync(file, `storage:\n  driver: s3\n  s3:\n    endpoint: ${ceph.endpoint}\n    bucket: ${ceph.bucket}\n    prefix: ${prefix}\n` +
    `    accessKey: ${ceph.accessKey}\n    secretKey: ${ceph.secretKey}\n    forcePathStyle: true\n    redirect:\n      enabled: ${redirect}\n`);
  return file;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mibps = (seconds: number) => (sizeBytes / 1024 / 1024 / seconds).toFixed(0);

async function main(): Promise<void> {
  const tmp = makeTempDir('wharf-bench-s3-');
  const ceph = await startCephS3();
  const targets: Target[] = [];
  try {
    console.error(`ceph radosgw up in ${ceph.startMs} ms`);
    const blob = await writeRandomBlob(join(tmp.path, 'blob'), sizeBytes);
    targets.push({ name: 'wharf, filesystem', wharf: await spawnWharfProcess({ root: join(tmp.path, 'fs') }), follow: false });
    targets.push({ name: 'wharf, s3 (radosgw)', wharf: await spawnWharfProcess({ root: join(tmp.path, 's3'), args: ['--config', s3Config(tmp.path, ceph, 'proxied', false)] }), follow: false });
    targets.push({ name: 'wharf, s3 + redirect', wharf: await spawnWharfProcess({ root: join(tmp.path, 's3r'), args: ['--config', s3Config(tmp.path, ceph, 'redirected', true)] }), follow: true });
    const all = new Map<string, Figures[]>(targets.map((t) => [t.name, []]));
    for (let run = 0; run < runs; run++) {
      const order = run % 2 === 0 ? targets : [...targets].reverse();
      for (const target of order) {
        const figures = await measure(target, blob, run);
        all.get(target.name)?.push(figures);
        console.error(`run ${run + 1} ${target.name}: push ${figures.pushSeconds.toFixed(2)} s, pull ${figures.pullSeconds.toFixed(2)} s, peak RSS ${figures.peakRssMiB.toFixed(0)} MiB`);
      }
    }
    console.log(`\n${sizeBytes / 1024 / 1024} MiB blob, ${runs} runs (medians), load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
    console.log('| target | push MiB/s | pull MiB/s | peak RSS MiB |');
    console.log('| --- | --- | --- | --- |');
    for (const [name, figures] of all) {
      console.log(`| ${name} | ${mibps(median(figures.map((f) => f.pushSeconds)))} | ${mibps(median(figures.map((f) => f.pullSeconds)))} | ${Math.max(...figures.map((f) => f.peakRssMiB)).toFixed(0)} |`);
    }
  } finally {
    for (const target of targets) await target.wharf.stop();
    await ceph.close();
    tmp.remove();
  }
}

await main();
