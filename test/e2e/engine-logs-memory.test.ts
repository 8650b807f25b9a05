import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { run } from '../support/run.ts';
import { dockerBin, startTestEngineWithBusybox, type TestEngine } from './engine-harness.ts';

// The engine runs in this process, so its RSS is ours: a log read whole would show as its size in memory.

const logBytes = 200 * 1024 * 1024;
const payload = `${'z'.repeat(120)}\n`;
const entry = `${JSON.stringify({ log: payload, stream: 'stdout', time: '2024-01-01T00:00:00.000000001Z' })}\n`;
const entryCount = Math.ceil(logBytes / entry.length);

let engine: TestEngine;
before(async () => {
  engine = await startTestEngineWithBusybox();
});
after(async () => {
  await engine?.close();
});

/** Writes the json-file log a container of `entryCount` entries would have left, in a child (`yes | head`), so this process's memory stays out of the measure. */
async function writeBigLog(path: string): Promise<void> {
  const result = await run('sh', ['-c', 'yes "$1" | head -n "$2" > "$3"', 'sh', entry.trimEnd(), String(entryCount), path]);
  assert.equal(result.code, 0, result.stderr);
}

/** `docker logs` with its output counted by `wc -c` in the child, so none of it lands in this process. */
function countLogBytes(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', `"$0" "$@" | wc -c`, dockerBin, ...args], { env: engine.env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(Number(out.trim())) : reject(new Error(`docker logs exited ${code}`))));
  });
}

// The reader encodes a 64 KiB chunk of the file into one buffer and reads the next only when the client has
// taken it, so the engine's memory stays flat whatever the log's size: the bound is a small fraction of the log.
const rssBound = 48 * 1024 * 1024;

test('docker logs streams a 200 MiB json-file log in flat memory, read after read', async (t) => {
  const created = await engine.docker(['run', '--name', 'big', '--network', 'none', 'busybox', 'true']);
  assert.equal(created.code, 0, created.stderr);
  const logPath = (await engine.docker(['inspect', '-f', '{{.LogPath}}', 'big'])).stdout.trim();
  await writeBigLog(logPath);
  globalThis.gc?.();
  const before = process.memoryUsage().rss;
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  let firstPeak = 0;
  try {
    assert.equal(await countLogBytes(['logs', 'big']), entryCount * payload.length);
    firstPeak = Math.max(peak, process.memoryUsage().rss);
    assert.equal(await countLogBytes(['logs', 'big']), entryCount * payload.length);
    assert.equal(await countLogBytes(['logs', '--tail', '1000', 'big']), 1000 * payload.length);
  } finally {
    clearInterval(sampler);
  }
  peak = Math.max(peak, process.memoryUsage().rss);
  const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
  assert.ok(peak - before < rssBound, `RSS grew ${mib(peak - before)} MiB serving a ${mib(logBytes)} MiB log`);
  t.diagnostic(`RSS growth ${mib(peak - before)} MiB (first read ${mib(firstPeak - before)} MiB)`);
  const tail = await engine.docker(['logs', '-t', '--tail', '1', 'big']);
  assert.equal(tail.stdout, `2024-01-01T00:00:00.000000001Z ${payload}`);
});
