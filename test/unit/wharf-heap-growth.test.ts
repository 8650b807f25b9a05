import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { wharfBin } from '../support/wharf.ts';

/** The flags bin/wharf starts node with (the `--…` words of its `exec` line). */
function wharfNodeFlags(): string[] {
  const exec = readFileSync(wharfBin, 'utf8')
    .split('\n')
    .find((line) => line.startsWith('exec '));
  assert.ok(exec, 'bin/wharf has an exec line');
  return exec.split(/\s+/).filter((word) => word.startsWith('--'));
}

// A server's heap in miniature: ~30 MiB that stays (wharf's live old space at idle), then request-like objects
// that live a little longer than a scavenge (2,000 in flight, as 64 connections keep them) and then die, so they
// are promoted and become garbage in the old generation. Prints the old space's live and largest size in bytes.
const serverLikeHeap = `
const v8 = require('node:v8');
const old = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'old_space');
globalThis.live = [];
for (let i = 0; i < 450000; i++) live.push({ i, name: 'entry-' + i });
gc();
const liveBytes = old().space_used_size;
const inFlight = new Array(2000);
let largest = 0;
for (let i = 0; i < 100000; i++) {
  inFlight[i % inFlight.length] = { id: 'req-' + i, headers: { accept: 'a'.repeat(40) + i, host: 'h' + i }, parts: Array.from({ length: 16 }, (_, n) => ({ n })) };
  if (i % 500 === 0) largest = Math.max(largest, old().space_size);
}
console.log(JSON.stringify({ liveBytes, largest }));
`;

// Issue 14: after a manifest GET load the registry idled ~95 MiB above its fresh RSS. V8 sizes the old generation
// of a small heap on a large machine at up to 4x what the last mark-compact kept, so promoted per-request garbage
// piled up to ~126 MiB before any collection. bin/wharf bounds that growth (--heap-growing-percent).
test("with bin/wharf's node flags, promoted garbage grows the old space to well under V8's own 4x its live size", () => {
  const out = spawnSync(process.execPath, [...wharfNodeFlags(), '--expose-gc', '-e', serverLikeHeap], { encoding: 'utf8' });
  assert.equal(out.status, 0, out.stderr);
  const { liveBytes, largest } = JSON.parse(out.stdout) as { liveBytes: number; largest: number };
  const mib = 1024 * 1024;
  // The limit is 1.5x live (at least live + 8 MiB); allocation goes on while concurrent marking runs, so the old
  // space overshoots it: 1.8x when this test was written, 2.0-2.4x since bin/wharf runs without Maglev (the loop
  // allocates for longer while the marker works; 84.4 MiB over 33.7 live once in CI). V8's own factor reaches
  // 3.8-3.9x here (129-131 MiB over 34 MiB live), so 3x still tells the two apart, by 20 MiB on either side.
  const bound = 3 * liveBytes;
  assert.ok(largest <= bound, `old space reached ${(largest / mib).toFixed(1)} MiB over ${(liveBytes / mib).toFixed(1)} MiB live (bound ${(bound / mib).toFixed(1)})`);
});
