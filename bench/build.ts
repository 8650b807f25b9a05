/**
 * wharf's classic builder (`POST /build`) side by side with dockerd 20.10 (Debian docker.io), driven by the same
 * docker CLI with DOCKER_BUILDKIT=0:
 *   1. a cached rebuild of a 10-step Dockerfile (every step "Using cache"), interleaved runs, median (aim <= 0.5),
 *      and as its floor a build of `FROM busybox` alone (the CLI, the context upload and the answer)
 *   2. a cold build of the same with --no-cache, interleaved runs, median (aim <= 1.0)
 *   3. a build whose context is one file of a quarter of 200 MB, then of 200 MB: the upload's time and the daemon's
 *      resident memory sampled every 50 ms while it runs (flat: the growth must not follow the context's size)
 * A case a daemon cannot build yet is reported as such and the others still run.
 * Run: node bench/build.ts [--runs 5] [--context-mb 200]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildBusyboxRootfsTar, runDocker } from '../test/e2e/engine-harness.ts';
import { writeRandomBlob } from '../test/support/busybox.ts';
import { type Daemon, docker, percentile, startDockerdDaemon, startWharfEngine, rssMb, closeDaemons } from './engine-daemons.ts';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' }, 'context-mb': { type: 'string', default: '200' } } });
const runs = Number(values.runs);
const contextMb = Number(values['context-mb']);
const buildTimeoutMs = 300_000;

// Ten steps of the kinds real Dockerfiles have: metadata, files from the context, and commands.
const tenSteps = [
  'FROM busybox',
  'ENV APP_HOME=/srv/app MODE=bench',
  'WORKDIR $APP_HOME',
  'COPY config.txt ./',
  'RUN echo "configured for $MODE" > mode.txt',
  'COPY src/ ./src/',
  'RUN cat src/*.txt | wc -l > lines.txt',
  'LABEL org.example.bench=build',
  'EXPOSE 8080',
  'CMD ["cat", "mode.txt", "lines.txt"]',
  '',
].join('\n');

function writeTenStepContext(dir: string): void {
  mkdirSync(join(dir, 'src'), { recursive: true });
  writeFileSync(join(dir, 'Dockerfile'), tenSteps);
  writeFileSync(join(dir, 'config.txt'), 'mode: bench\n');
  for (let i = 0; i < 20; i++) writeFileSync(join(dir, 'src', `part-${i}.txt`), `part ${i}\n`.repeat(50));
}

/** One classic build; its wall time in ms, or why it failed. */
async function timedBuild(daemon: Daemon, args: string[]): Promise<number | string> {
  const start = performance.now();
  const result = await runDocker(['build', ...args], { ...daemon.env, DOCKER_BUILDKIT: '0' }, { timeoutMs: buildTimeoutMs });
  const ms = performance.now() - start;
  if (result.code !== 0) return `failed: ${result.stderr.trim().split('\n').at(-1)}`;
  return ms;
}

interface Timing {
  median?: number;
  samples: number[];
  failure?: string;
}

/** `runs` interleaved rounds of each daemon's build (after `prepare`, untimed); a daemon that fails stops there. */
async function interleaved(daemons: Daemon[], args: string[], prepare: (d: Daemon) => Promise<unknown>): Promise<Record<string, Timing>> {
  const timings: Record<string, Timing> = Object.fromEntries(daemons.map((d) => [d.name, { samples: [] }]));
  for (const d of daemons) {
    const warm = await prepare(d);
    if (typeof warm === 'string') timings[d.name].failure = warm;
  }
  for (let i = 0; i < runs; i++) {
    for (const d of daemons) {
      if (timings[d.name].failure) continue;
      const result = await timedBuild(d, args);
      if (typeof result === 'string') timings[d.name].failure = result;
      else timings[d.name].samples.push(result);
    }
  }
  for (const t of Object.values(timings)) if (t.samples.length > 0) t.median = percentile([...t.samples].sort((a, b) => a - b), 0.5);
  return timings;
}

function report(title: string, timings: Record<string, Timing>, aim: string): void {
  console.log(`# ${title}`);
  for (const [name, t] of Object.entries(timings)) {
    const figures = t.median === undefined ? '' : `median ${t.median.toFixed(0)} ms   (${t.samples.map((s) => s.toFixed(0)).join(', ')})`;
    console.log(`${name.padEnd(8)} ${figures}${t.failure ? `   ${t.failure}` : ''}`);
  }
  const { wharf, dockerd } = timings;
  if (wharf?.median !== undefined && dockerd?.median !== undefined) console.log(`ratio wharf/dockerd (median, aim ${aim}): ${(wharf.median / dockerd.median).toFixed(2)}`);
}

/** The big-context build on one daemon with its RSS sampled every 50 ms (bounded by the build's own timeout). */
async function bigContext(daemon: Daemon, dir: string): Promise<{ ms: number | string; before: number; peak: number; samples: number }> {
  const before = rssMb(daemon.daemonPids());
  let peak = before;
  let samples = 0;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssMb(daemon.daemonPids()));
    samples++;
  }, 50);
  try {
    const ms = await timedBuild(daemon, ['-t', 'bench-context:latest', dir]);
    return { ms, before, peak, samples };
  } finally {
    clearInterval(sampler);
  }
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'wharf-bench-build-'));
  const daemons: Daemon[] = [];
  try {
    daemons.push(await startWharfEngine(join(root, 'wharf')), await startDockerdDaemon());
    const tar = await buildBusyboxRootfsTar(root);
    for (const d of daemons) await docker(d, ['import', '--change', 'CMD ["sh"]', tar, 'busybox']);
    const context = join(root, 'ten-steps');
    writeTenStepContext(context);

    const cached = await interleaved(daemons, ['-t', 'bench-build:cached', context], (d) => timedBuild(d, ['-t', 'bench-build:cached', context]));
    report(`cached rebuild of a 10-step Dockerfile: ${runs} interleaved runs after one untimed build`, cached, '<= 0.5');
    const floor = join(root, 'one-step');
    mkdirSync(floor);
    writeFileSync(join(floor, 'Dockerfile'), 'FROM busybox\n');
    const floorTimings = await interleaved(daemons, ['-t', 'bench-build:floor', floor], (d) => timedBuild(d, ['-t', 'bench-build:floor', floor]));
    report(`the floor: a build of FROM busybox alone, ${runs} interleaved runs`, floorTimings, '(none)');
    const cold = await interleaved(daemons, ['--no-cache', '-t', 'bench-build:cold', context], async () => undefined);
    report(`cold build (--no-cache) of the same: ${runs} interleaved runs`, cold, '<= 1.0');

    for (const mb of [contextMb / 4, contextMb]) {
      const big = join(root, `context-${mb}`);
      mkdirSync(big);
      await writeRandomBlob(join(big, 'payload.bin'), mb * 1024 * 1024);
      writeFileSync(join(big, 'Dockerfile'), 'FROM busybox\nLABEL context=big\n');
      console.log(`# a build whose context is a ${mb} MB file (FROM busybox + LABEL): time and daemon RSS (MB) sampled every 50 ms`);
      for (const d of daemons) {
        const r = await bigContext(d, big);
        const time = typeof r.ms === 'number' ? `${(r.ms / 1000).toFixed(2)} s` : r.ms;
        console.log(`${d.name.padEnd(8)} ${time}   RSS before ${r.before.toFixed(1)}   peak ${r.peak.toFixed(1)}   growth ${(r.peak - r.before).toFixed(1)}   (${r.samples} samples)`);
      }
      rmSync(big, { recursive: true, force: true });
    }
  } finally {
    await closeDaemons(daemons);
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
