/**
 * Replicas (issue 14.3): manifest GET throughput of two `wharf registry serve` replicas behind haproxy (round
 * robin per request in http mode, per connection in tcp mode; `--balance`, both by default) vs one replica
 * direct, all on one private PostgreSQL 15 and one root, side by side in one run; a single replica on SQLite as
 * the anchor. wrk drives each target for `--seconds` with `--connections` (bounded), GETs of
 * one small OCI manifest by tag and by digest. Every registry process counts its PostgreSQL queries
 * (bench/pg-query-counter.ts), so round trips per request come out exactly; and the CPU each process of the run
 * takes per request (registries, haproxy, PostgreSQL, wrk), which a busy shared machine does not change the way
 * it changes throughput.
 *
 *   node bench/replicas.ts [--seconds 10] [--connections 32] [--threads 2] [--balance http|tcp|both]
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
    balance: { type: 'string', default: 'both' },
  },
});
const balances = { http: ['http'], tcp: ['tcp'], both: ['http', 'tcp'] } as const;
if (!Object.hasOwn(balances, values.balance)) throw new Error(`--balance must be http, tcp or both, not ${values.balance}`);
const modes = balances[values.balance as keyof typeof balances];
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
  const p99 = /^\s+99%\s+(\S+)/m.exec(out)?.[1] ?? '?';
  return { rps, requests, p99 };
}

const clockTicks = 100;

/** user, system, children's user and children's system time of a process, in clock ticks; 0 once it is gone. */
function statTicks(pid: number | 'self'): { ppid: number; own: number; children: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
    return { ppid: f[1], own: f[11] + f[12], children: f[13] + f[14] };
  } catch {
    return { ppid: 0, own: 0, children: 0 };
  }
}

/** CPU seconds of each process tree (the root, its live descendants and the children they reaped). */
function treeCpu(roots: Record<string, number[]>): Record<string, number> {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) if (/^\d+$/.test(entry)) parents.set(Number(entry), statTicks(Number(entry)).ppid);
  const rootOf = (pid: number, roots: number[]): boolean => {
    for (let p = pid; p > 1; p = parents.get(p) ?? 0) if (roots.includes(p)) return true;
    return false;
  };
  return Object.fromEntries(Object.entries(roots).map(([name, pids]) => {
    let ticks = 0;
    for (const pid of parents.keys()) if (rootOf(pid, pids)) { const t = statTicks(pid); ticks += t.own + t.children; }
    return [name, ticks / clockTicks];
  }));
}

/** The CPU every process of the run takes: the registries, haproxy, PostgreSQL's server and wrk (reaped by us). */
function cpuNow(pids: Record<string, number[]>): Record<string, number> {
  return { ...treeCpu(pids), wrk: statTicks('self').children / clockTicks };
}

interface Measured {
  row: string;
  rps: number;
  /** CPU µs per request, every process of the run. */
  cpu: number;
}

async function measure(label: string, url: string, counted: Counted[], script: string, pids: Record<string, number[]>): Promise<Measured> {
  const before = await Promise.all(counted.map(queries));
  const cpuBefore = cpuNow(pids);
  const result = await wrk(url, script);
  const cpuAfter = cpuNow(pids);
  const after = await Promise.all(counted.map(queries));
  const sent = after.reduce((sum, n, i) => sum + n - before[i], 0);
  const perRequest = counted.length ? (sent / result.requests).toFixed(2) : 'n/a';
  // CPU per request is what the cores pay for one GET, whatever else the machine runs: it says what a quiet
  // 2-core machine would serve (2 s of CPU per second over the CPU per request) when wrk's rate is noise.
  const usPerRequest = (name: string) => ((cpuAfter[name] - cpuBefore[name]) * 1e6) / result.requests;
  const parts = Object.keys(cpuAfter).map(usPerRequest);
  const total = parts.reduce((a, b) => a + b, 0);
  const row = `| ${label} | ${result.rps.toFixed(0)} | ${result.p99} | ${perRequest} | ${parts.map((us) => us.toFixed(0)).join(' / ')} | ${total.toFixed(0)} | ${(2e6 / total).toFixed(0)} |`;
  return { row, rps: result.rps, cpu: total };
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
    const haproxies: { mode: 'http' | 'tcp'; url: string; pid: number }[] = [];
    for (const mode of modes) {
      const haproxy = await startHaproxy({ backends: [a.process.host, b.process.host], mode });
      stops.unshift(() => haproxy.close());
      haproxies.push({ mode, url: haproxy.url, pid: haproxy.pid });
    }
    const digest = await pushTinyImage(a.process.url, 'bench/app', 'v1', 'bench');
    await pushTinyImage(sqlite.process.url, 'bench/app', 'v1', 'bench');
    const pids = { registries: [a.process.pid, b.process.pid, sqlite.process.pid], haproxy: haproxies.map((h) => h.pid), postgres: [postgres.pid] };
    const script = join(dir, 'manifest.lua');
    writeFileSync(script, wrkScript);
    const rows = [
      '| target | manifest GET/s | p99 | PostgreSQL queries per request | CPU µs per request: registries / haproxy / PostgreSQL / wrk | CPU µs per request | 2 cores / CPU per request |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ];
    // Warm up every process (JIT, pool connections) before anything is recorded.
    const bases = [a.process.url, b.process.url, ...haproxies.map((h) => h.url), sqlite.process.url];
    for (const base of bases) await wrk(`${base}/v2/bench/app/manifests/v1`, script, 2);
    const ratios: string[] = [];
    for (const [ref, name] of [['v1', 'by tag'], [digest, 'by digest']]) {
      const path = `/v2/bench/app/manifests/${ref}`;
      const direct = await measure(`one replica direct (PostgreSQL), ${name}`, `${a.process.url}${path}`, [a], script, pids);
      rows.push(direct.row);
      for (const haproxy of haproxies) {
        const behind = await measure(`two replicas behind haproxy (${haproxy.mode}), ${name}`, `${haproxy.url}${path}`, [a, b], script, pids);
        rows.push(behind.row);
        // CPU as direct's over behind's: what a quiet machine's throughput ratio would be when the cores are the limit.
        ratios.push(`two behind haproxy (${haproxy.mode}) / one direct, ${name}: wrk ${(behind.rps / direct.rps).toFixed(2)}x, CPU ${(direct.cpu / behind.cpu).toFixed(2)}x`);
      }
      rows.push((await measure(`one replica direct (SQLite), ${name}`, `${sqlite.process.url}${path}`, [], script, pids)).row);
    }
    console.log(`wrk -t${threads} -c${connections} -d${seconds}s; load average before: ${load}`);
    console.log(rows.join('\n'));
    console.log(ratios.join('\n'));
  } finally {
    for (const stop of stops) await stop().catch((err: unknown) => console.error(err));
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
