/**
 * What the hub's activity log costs a manifest GET: the registry answers ~10k a second, and each reports a pull.
 * Side by side, in one process, the same loop of `forRequest(request, actor).manifest('pull', …)` awaited:
 *   anchor    the registry without the log (silentRegistryEvents, what every request did before)
 *   log       ActivityLog over a store that writes nothing (the per-pull cost alone)
 *   log+db    ActivityLog over SQLite on a temp file (batches written on this same thread, amortized in)
 * over 200 repositories x 2 tags x 20 actors, fresh name strings per call as requests have. Then the heap a pull
 * allocates when it coalesces into a row already pending, the call not awaited (run with --expose-gc for that part).
 * Run: node --expose-gc --min-semi-space-size=64 --max-semi-space-size=64 bench/activity-log.ts [--pulls 2000000] [--rounds 5]
 * (the fixed young generation keeps scavenges out of the heap measure: what it prints is what was allocated).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { FastifyRequest } from 'fastify';
import { createLogger } from '../src/base/log.ts';
import type { ActivityStore } from '../src/meta/activity-store.ts';
import { openDatabase } from '../src/meta/sqlite-database.ts';
import { SqliteActivityStore } from '../src/meta/sqlite-activity-store.ts';
import { ActivityLog } from '../src/hub/activity/activity-log.ts';
import { type RegistryEvents, silentRegistryEvents } from '../src/registry/notifications/request-events.ts';

const { values } = parseArgs({ options: { pulls: { type: 'string', default: '2000000' }, rounds: { type: 'string', default: '5' } } });
const pulls = Number(values.pulls);
const rounds = Number(values.rounds);
const logger = createLogger({ level: 'silent' });
const request = {} as FastifyRequest;
const descriptor = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'ab'.repeat(32)}`, size: 1234 };
const actors = Array.from({ length: 20 }, (_, i) => `user${i}`);
const nothingWritten: ActivityStore = { append: async () => {}, list: async () => [], prune: async () => 0 };

async function loop(events: RegistryEvents): Promise<number> {
  const started = process.hrtime.bigint();
  for (let i = 0; i < pulls; i++) {
    // New strings each call, as a request's parsed path gives: their hashes are computed afresh.
    const repository = `team/app-${i % 200}`;
    const reference = i & 1 ? 'latest' : `v${i % 3}`;
    await events.forRequest(request, actors[i % 20]).manifest('pull', repository, descriptor, reference);
  }
  return Number(process.hrtime.bigint() - started) / pulls;
}

function heapPerPull(events: RegistryEvents): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return Number.NaN;
  const repositories = Array.from({ length: 50 }, (_, i) => `team/app-${i}`);
  // Not awaited here: the await's own promise would be counted, and what is measured is what the call keeps.
  const warm = (n: number) => {
    for (let i = 0; i < n; i++) void events.forRequest(request, actors[i % 20]).manifest('pull', repositories[i % 50], descriptor, 'latest');
  };
  warm(1000);
  gc();
  const before = process.memoryUsage().heapUsed;
  warm(200_000);
  const after = process.memoryUsage().heapUsed;
  return (after - before) / 200_000;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-activity-bench-'));
  const db = openDatabase(join(dir, 'meta.db'));
  const subjects: Record<string, () => { events: RegistryEvents; close(): Promise<void> }> = {
    anchor: () => ({ events: silentRegistryEvents, close: async () => {} }),
    log: () => {
      const log = new ActivityLog({ store: nothingWritten, logger, keep: 100_000 });
      return { events: log, close: () => log.close() };
    },
    'log+db': () => {
      const log = new ActivityLog({ store: new SqliteActivityStore(db), logger, keep: 100_000 });
      return { events: log, close: () => log.close() };
    },
  };
  const ns: Record<string, number[]> = Object.fromEntries(Object.keys(subjects).map((name) => [name, []]));
  try {
    for (let round = 0; round < rounds; round++) {
      for (const [name, make] of Object.entries(subjects)) {
        const subject = make();
        ns[name].push(await loop(subject.events));
        await subject.close();
      }
    }
    const rows = db.prepare('SELECT COUNT(*) AS n, SUM(event_count) AS pulls FROM activity').get() as { n: number; pulls: number };
    for (const name of Object.keys(subjects)) {
      const extra = name === 'anchor' ? '' : ` (+${(median(ns[name]) - median(ns.anchor)).toFixed(0)} ns over the anchor)`;
      console.log(`${name.padEnd(7)} ${median(ns[name]).toFixed(0).padStart(5)} ns/pull median of ${rounds} rounds of ${pulls}${extra}; rounds: ${ns[name].map((x) => x.toFixed(0)).join(' ')}`);
    }
    console.log(`log+db wrote ${rows.n} rows for ${rows.pulls} pulls`);
    const anchorHeap = heapPerPull(silentRegistryEvents);
    const log = new ActivityLog({ store: nothingWritten, logger, keep: 100_000, flushMs: 3_600_000, batchRows: 1_000_000 });
    const logHeap = heapPerPull(log);
    await log.close();
    console.log(`heap allocated per coalesced pull: anchor ${anchorHeap.toFixed(2)} B, log ${logHeap.toFixed(2)} B${Number.isNaN(logHeap) ? ' (run with --expose-gc)' : ''}`);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
