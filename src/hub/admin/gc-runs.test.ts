import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '../../base/log.ts';
import type { GcLock } from '../../meta/gc-lock.ts';
import { openDatabase } from '../../meta/sqlite-database.ts';
import { SqliteGcRunStore } from '../../meta/sqlite-gc-run-store.ts';
import type { CollectOptions, CollectResult } from '../../registry/gc/garbage-collector.ts';
import { GcRuns, type GcRunsOptions, interruptedError } from './gc-runs.ts';

const logger = createLogger({ level: 'silent' });
const result: CollectResult = { manifests: 2, blobs: 3, bytes: 4096, kept: 0, recovered: 0 };

/** A collector whose runs end when the test says. */
function gate() {
  const calls: CollectOptions[] = [];
  let open: (outcome: CollectResult | Error) => void = () => {};
  const collector = {
    collect: (options: CollectOptions) => {
      calls.push(options);
      return new Promise<CollectResult>((resolve, reject) => {
        open = (outcome) => (outcome instanceof Error ? reject(outcome) : resolve(outcome));
      });
    },
  };
  return { collector, calls, end: (outcome: CollectResult | Error) => open(outcome) };
}

function setup(extra: Partial<GcRunsOptions> = {}) {
  const store = new SqliteGcRunStore(openDatabase(':memory:'));
  const g = gate();
  const runs = new GcRuns({ collector: g.collector, store, logger, gracePeriodSeconds: 600, deleteUntagged: false, ...extra });
  return { store, runs, ...g };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

test('an API run answers its running row at once, runs in the background and is recorded with its counts', async () => {
  const { runs, calls, end } = setup();
  const row = await runs.start({ dryRun: true, deleteUntagged: true });
  assert.deepEqual([row.trigger, row.dryRun, row.state], ['api', true, 'running']);
  assert.deepEqual(calls, [{ graceSeconds: 600, dryRun: true, deleteUntagged: true }]);
  await assert.rejects(runs.start({}), { kind: 'conflict', message: 'a garbage collection is already running' });
  await assert.rejects(runs.run('schedule', { graceSeconds: 1 }), { kind: 'conflict' });
  end(result);
  await runs.close();
  const [finished] = await runs.list();
  assert.deepEqual([finished.id, finished.state, finished.blobsRemoved, finished.bytesFreed, finished.manifestsRemoved, finished.error], [row.id, 'succeeded', 3, 4096, 2, undefined]);
  assert.ok(finished.finishedAt);
  assert.equal((await runs.list()).length, 1, 'the refused ones left no row');
  const next = await runs.start({});
  assert.deepEqual(calls[1], { graceSeconds: 600, dryRun: false, deleteUntagged: false });
  end(new Error('disk on fire'));
  await runs.close();
  assert.deepEqual((await runs.list()).map((r) => [r.id, r.state, r.error]), [[next.id, 'failed', 'disk on fire'], [row.id, 'succeeded', undefined]]);
});

test('scheduled and CLI runs are recorded with their trigger; a failure is recorded and thrown', async () => {
  const { runs, end } = setup();
  const scheduled = runs.run('schedule', { graceSeconds: 1 });
  await tick();
  end(result);
  assert.deepEqual(await scheduled, result);
  const cli = runs.run('cli', { graceSeconds: 1, dryRun: true });
  await tick();
  end(new Error('boom'));
  await assert.rejects(cli, /boom/);
  assert.deepEqual((await runs.list()).map((r) => [r.trigger, r.dryRun, r.state, r.error]), [['cli', true, 'failed', 'boom'], ['schedule', false, 'succeeded', undefined]]);
});

test("a run that removes something holds the replicas' lock; taken elsewhere, it is a conflict and leaves no row", async () => {
  let held = false;
  const events: string[] = [];
  const lock: GcLock = {
    tryLock: async () => {
      if (held) return undefined;
      held = true;
      events.push('locked');
      return async () => {
        held = false;
        events.push('released');
      };
    },
  };
  const { runs, end } = setup({ lock });
  held = true;
  await assert.rejects(runs.start({}), { kind: 'conflict', message: 'another garbage collection is running on this database' });
  const dry = await runs.start({ dryRun: true });
  end(result);
  await runs.close();
  assert.deepEqual(events, [], 'a dry run takes no lock');
  held = false;
  await runs.start({});
  assert.deepEqual(events, ['locked']);
  end(result);
  await runs.close();
  assert.deepEqual(events, ['locked', 'released']);
  const failing = runs.run('cli', { graceSeconds: 1 });
  await tick();
  end(new Error('disk gone'));
  await assert.rejects(failing, /disk gone/);
  assert.deepEqual(events, ['locked', 'released', 'locked', 'released'], 'given back when the collection fails');
  assert.deepEqual((await runs.list()).map((r) => r.state), ['failed', 'succeeded', 'succeeded']);
  assert.equal((await runs.list())[2].id, dry.id);
});

test('runs left running by a stopped process: failed at start without a lock, by the next real run under one', async () => {
  const { store, runs } = setup();
  const real = await store.start({ trigger: 'schedule', dryRun: false, startedAt: '2024-01-01T00:00:00.000Z' });
  const dry = await store.start({ trigger: 'api', dryRun: true, startedAt: '2024-01-01T00:00:01.000Z' });
  await runs.recoverInterrupted();
  assert.deepEqual((await runs.list()).map((r) => [r.id, r.state, r.error]), [[dry.id, 'failed', interruptedError], [real.id, 'failed', interruptedError]]);

  const lock: GcLock = { tryLock: async () => async () => {} };
  const locked = setup({ lock });
  const cutOff = await locked.store.start({ trigger: 'cli', dryRun: false, startedAt: '2024-01-01T00:00:00.000Z' });
  const otherDry = await locked.store.start({ trigger: 'api', dryRun: true, startedAt: '2024-01-01T00:00:01.000Z' });
  await locked.runs.recoverInterrupted();
  assert.deepEqual((await locked.runs.list()).map((r) => r.state), ['running', 'running'], 'with a lock, nothing at start');
  await locked.runs.start({ dryRun: true });
  locked.end(result);
  await locked.runs.close();
  assert.equal((await locked.runs.list())[2].state, 'running', 'a dry run holds no lock: it fails nothing');
  const next = await locked.runs.start({});
  locked.end(result);
  await locked.runs.close();
  const states = new Map((await locked.runs.list()).map((r) => [r.id, [r.state, r.error]]));
  assert.deepEqual(states.get(cutOff.id), ['failed', interruptedError]);
  assert.deepEqual(states.get(otherDry.id), ['running', undefined], "another replica's dry run may be alive");
  assert.deepEqual(states.get(next.id), ['succeeded', undefined]);
});
