/**
 * Where a V8 CPU profile spent its time: self time per function (and per source file), heaviest first. For the
 * profiles `node bench/registry.ts --cpu-prof DIR` writes.
 *
 *   node bench/profile-summary.ts DIR/CPU.*.cpuprofile [--top 25]
 */
import { readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' } } });
const top = Number(values.top);
const repoRoot = resolve(import.meta.dirname, '..');

function where(frame: ProfileNode['callFrame']): string {
  const url = frame.url.replace(/^file:\/\//, '');
  const file = url.startsWith(repoRoot) ? relative(repoRoot, url) : url.replace(/^.*node_modules\//, 'node_modules/');
  return file ? `${file}:${frame.lineNumber + 1}` : '';
}

function table(title: string, totals: Map<string, number>, all: number): void {
  console.log(`\n${title}`);
  for (const [key, us] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${(us / 1000).toFixed(0).padStart(8)} ms ${((100 * us) / all).toFixed(1).padStart(5)} %  ${key}`);
  }
}

for (const path of positionals) {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  let busy = 0;
  const all = profile.endTime - profile.startTime;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)?.callFrame;
    if (!frame) continue;
    if (frame.functionName !== '(idle)') busy += us;
    const fn = `${frame.functionName || '(anonymous)'} ${where(frame)}`.trim();
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
    const file = where(frame).replace(/:\d+$/, '') || frame.functionName;
    byFile.set(file, (byFile.get(file) ?? 0) + us);
  }
  console.log(`${path}: ${(all / 1e6).toFixed(1)} s profiled, ${(busy / 1e6).toFixed(1)} s on the main thread (not idle)`);
  table('self time by function', byFunction, all);
  table('self time by file', byFile, all);
}
