/**
 * Replicas (issue 14.3): manifest GET throughput of two `wharf registry serve` replicas behind haproxy (round
 * robin) vs one replica direct, both on one private PostgreSQL 15 and one root, side by side in one run; a single
 * replica on SQLite as the anchor. wrk drives each target for `--seconds` with `--connections` (bounded), GETs of
 * one small OCI manifest by tag and by digest. Every registry process counts its PostgreSQL queries
 * (bench/pg-query-counter.ts), so round trips per request come out exactly.
 *
 *   node bench/replicas.ts [--seconds 10] [--connections 32] [--threads 2]
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startHaproxy } from '../test/support/haproxy.ts';
import { startPostgres } from '../test/support/postgres.ts';
import { runOk } from '../test/support/run.ts';
import { pushTinyImage } from '../test/support/tiny-image.ts';
import { spawnWharfProcess, type WharfProcess } from '../test/support/wharf.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '32' },
    threads: { type: 'string', default: '2' },
  },
});
const seconds = Number(values.seconds);
const connections = Number(values.connections);
const threads = Number(values.threads);
const manifestType = 'application/vnd.oci.image.manifest.v1+json';
const counter = resolve(import.meta.dirname, 'pg-query-counter.ts');

interface Counted {
  process: WharfProcess;
  file: string;
}

async function spawnCounted(root: string, args: string[], file: string): Promise<Counted> {
  const process = await spawnWharfProcess({ root, args, env: { NODE_OPTIONS: `--import ${counter}`, WHARF_PG_COUNT_FILE: file } });
  return { process, file };
}

/** Queries the process has sent so far (it writes the count on SIGUSR2). */
async function queries(replica: Counted): Promise<number> {
  rmSync(replica.file, { force: true });
  replica.process.child.kill('SIGUSR2');
  for (let i = 0; i < 100; i++) {
    try {
      return Number(readFileSync(replica.file, 'utf8'));
    } catch {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  throw new Error('no query count');
}

// Prints the first non-200 answers, so a failing run says why.
const wrkScript = `wrk.headers["Accept"] = "${manifestType}"
local shown = 0
response = function(status, headers, body)
  if status ~= 200 and shown < 3 then shown = shown + 1; io.write("status " .. status .. " " .. body .. "\\n") end
end
`;

/** wrk's requests/s and request count for `url` (any non-2xx fails the run). */
async function wrk(url: string, script: string, duration = seconds): Promise<{ rps: number; requests: number; p99: string }> {
  const out = await runOk('wrk', ['-t', String(threads), '-c', String(connections), '-d', `${duration}s`, '--latency', '-s', script, url]);
  if (/Non-2xx/.test(out)) throw new Error(`wrk saw errors:\n${out}`);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const p99 = /99%\s+(\S+)/.exec(out)?.[1] ?? '?';
  return { rps, requests, p99 };
}

async function measure(label: string, url: string, counted: Counted[], script: string): Promise<string> {
  const before = await Promise.all(counted.map(queries));
  const result = await wrk(url, script);
  const after = await Promise.all(counted.map(queries));
  const sent = after.reduce((sum, n, i) => sum + n - before[i], 0);
  const perRequest = counted.length ? (sent / result.requests).toFixed(2) : 'n/a';
  return `| ${label} | ${result.rps.toFixed(0)} | ${result.p99} | ${perRequest} |`;
}

async function main(): Promise<void> {
  const load = loadavg().map((n) => n.toFixed(2)).join(' ');
  const dir = mkdtempSync(join(tmpdir(), 'wharf-bench-replicas-'));
  const postgres = await startPostgres();
  const stops: (() => Promise<void>)[] = [async () => postgres.close()];
  try {
    const root = join(dir, 'root');
    const args = ['--meta-url', postgres.url];
    const a = await spawnCounted(root, args, join(dir, 'a.count'));
    stops.unshift(() => a.process.stop());
    const b = await spawnCounted(root, args, join(dir, 'b.count'));
    stops.unshift(() => b.process.stop());
    const sqlite = await spawnCounted(join(dir, 'sqlite-root'), [], join(dir, 's.count'));
    stops.unshift(() => sqlite.process.stop());
    const haproxy = await startHaproxy({ backends: [a.process.host, b.process.host] });
    stops.unshift(() => haproxy.close());
    const digest = await pushTinyImage(a.process.url, 'bench/app', 'v1', 'bench');
    await pushTinyImage(sqlite.process.url, 'bench/app', 'v1', 'bench');
    const script = join(dir, 'manifest.lua');
    writeFileSync(script, wrkScript);
    const rows = [`| target | manifest GET/s | p99 | PostgreSQL queries per request |`, '| --- | ---: | ---: | ---: |'];
    // Warm up every process (JIT, pool connections) before anything is recorded.
    for (const base of [a.process.url, b.process.url, haproxy.url, sqlite.process.url]) await wrk(`${base}/v2/bench/app/manifests/v1`, script, 2);
    for (const [ref, name] of [['v1', 'by tag'], [digest, 'by digest']]) {
      const path = `/v2/bench/app/manifests/${ref}`;
      rows.push(await measure(`one replica direct (PostgreSQL), ${name}`, `${a.process.url}${path}`, [a], script));
      rows.push(await measure(`two replicas behind haproxy, ${name}`, `${haproxy.url}${path}`, [a, b], script));
      rows.push(await measure(`one replica direct (SQLite), ${name}`, `${sqlite.process.url}${path}`, [], script));
    }
    console.log(`wrk -t${threads} -c${connections} -d${seconds}s; load average before: ${load}`);
    console.log(rows.join('\n'));
  } finally {
    for (const stop of stops) await stop().catch((err: unknown) => console.error(err));
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
