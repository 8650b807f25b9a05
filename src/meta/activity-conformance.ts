import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ActivityRecord, ActivityStore } from './activity-store.ts';
import { type GcRunStore, gcRunsKept } from './gc-run-store.ts';

/** The stores of one fresh backend the activity suite uses (a StoresFixture is one). */
export interface ActivityFixture {
  activity: ActivityStore;
  gcRuns: GcRunStore;
}

type WithActivity = (fn: (f: ActivityFixture) => Promise<void>) => () => Promise<void>;

const digest = (c: string) => `sha256:${c.repeat(64)}`;
const at = (second: number) => new Date(Date.UTC(2030, 0, 1, 0, 0, second)).toISOString();
const row = (second: number, repository: string, extra: Partial<ActivityRecord> = {}): ActivityRecord => ({
  at: at(second),
  action: 'push',
  repository,
  tag: 'latest',
  digest: digest('a'),
  actor: 'alice',
  count: 1,
  ...extra,
});

/** ActivityStore's and GcRunStore's contracts, for one engine. */
export function describeActivityStore(withStores: WithActivity): void {
  test('rows are appended in order and listed newest first, overall and per repository, paged by id', withStores(async ({ activity }) => {
    await activity.append([]);
    await activity.append([row(1, 'a/app'), row(2, 'b/app', { action: 'pull', tag: undefined, actor: 'anonymous', count: 7 })]);
    await activity.append([row(3, 'a/app', { action: 'delete', digest: undefined }), row(4, 'b/app')]);
    const all = await activity.list({ limit: 10 });
    assert.deepEqual(all.map((r) => [r.repository, r.at]), [['b/app', at(4)], ['a/app', at(3)], ['b/app', at(2)], ['a/app', at(1)]]);
    assert.ok(all.every((r, i) => i === 0 || r.id < all[i - 1].id), 'ids fall');
    const { id: _id, ...pull } = all[2];
    assert.deepEqual(pull, { at: at(2), action: 'pull', repository: 'b/app', tag: undefined, digest: digest('a'), actor: 'anonymous', count: 7 });
    assert.equal(all[1].digest, undefined);
    const first = await activity.list({ limit: 3 });
    assert.deepEqual(first.map((r) => r.id), all.slice(0, 3).map((r) => r.id));
    assert.deepEqual((await activity.list({ limit: 3, before: first[2].id })).map((r) => r.id), [all[3].id]);
    const mine = await activity.list({ repository: 'a/app', limit: 1 });
    assert.deepEqual(mine.map((r) => r.at), [at(3)]);
    assert.deepEqual((await activity.list({ repository: 'a/app', limit: 5, before: mine[0].id })).map((r) => r.at), [at(1)]);
    assert.deepEqual(await activity.list({ repository: 'c/none', limit: 5 }), []);
  }));

  test('a large batch is one append, and prune keeps the newest rows only', withStores(async ({ activity }) => {
    const batch = Array.from({ length: 1200 }, (_, i) => row(i % 60, `r/${i}`));
    await activity.append(batch);
    const newest = await activity.list({ limit: 2 });
    assert.deepEqual(newest.map((r) => r.repository), ['r/1199', 'r/1198'], 'in the order given');
    assert.equal(await activity.prune(5000), 0);
    assert.equal(await activity.prune(1000), 200);
    const kept = await activity.list({ limit: 2000 });
    assert.equal(kept.length, 1000);
    assert.equal(kept.at(-1)?.repository, 'r/200');
    assert.equal(await activity.prune(0), 1000);
    assert.deepEqual(await activity.list({ limit: 10 }), []);
  }));

  test('a GC run starts running, finishes with counts or an error once, and lists newest first', withStores(async ({ gcRuns }) => {
    const first = await gcRuns.start({ trigger: 'schedule', dryRun: false, startedAt: at(1) });
    assert.deepEqual({ ...first, id: 0 }, { id: 0, trigger: 'schedule', dryRun: false, startedAt: at(1), finishedAt: undefined, state: 'running', blobsRemoved: 0, bytesFreed: 0, manifestsRemoved: 0, error: undefined });
    const second = await gcRuns.start({ trigger: 'api', dryRun: true, startedAt: at(2) });
    await gcRuns.finish(first.id, { finishedAt: at(3), blobsRemoved: 4, bytesFreed: 5_000_000_000, manifestsRemoved: 2 });
    await gcRuns.finish(first.id, { finishedAt: at(9), error: 'late' });
    await gcRuns.finish(second.id, { finishedAt: at(4), error: 'another garbage collection is running' });
    const runs = await gcRuns.list();
    assert.deepEqual(runs.map((r) => [r.id, r.trigger, r.dryRun, r.state]), [[second.id, 'api', true, 'failed'], [first.id, 'schedule', false, 'succeeded']]);
    assert.deepEqual([runs[1].finishedAt, runs[1].blobsRemoved, runs[1].bytesFreed, runs[1].manifestsRemoved, runs[1].error], [at(3), 4, 5_000_000_000, 2, undefined]);
    assert.deepEqual([runs[0].finishedAt, runs[0].error], [at(4), 'another garbage collection is running']);
    assert.deepEqual((await gcRuns.list(1)).map((r) => r.id), [second.id]);
  }));

  test('failRunning fails the runs still running (dry ones only when asked), and no finished one', withStores(async ({ gcRuns }) => {
    const done = await gcRuns.start({ trigger: 'cli', dryRun: false, startedAt: at(1) });
    await gcRuns.finish(done.id, { finishedAt: at(2), blobsRemoved: 1, bytesFreed: 2, manifestsRemoved: 0 });
    const real = await gcRuns.start({ trigger: 'schedule', dryRun: false, startedAt: at(3) });
    const dry = await gcRuns.start({ trigger: 'api', dryRun: true, startedAt: at(4) });
    assert.equal(await gcRuns.failRunning({ finishedAt: at(5), error: 'interrupted', dryRuns: false }), 1);
    assert.equal(await gcRuns.failRunning({ finishedAt: at(6), error: 'interrupted', dryRuns: true }), 1);
    assert.equal(await gcRuns.failRunning({ finishedAt: at(7), error: 'interrupted', dryRuns: true }), 0);
    const runs = await gcRuns.list();
    assert.deepEqual(runs.map((r) => [r.id, r.state, r.finishedAt, r.error]), [
      [dry.id, 'failed', at(6), 'interrupted'],
      [real.id, 'failed', at(5), 'interrupted'],
      [done.id, 'succeeded', at(2), undefined],
    ]);
  }));

  test(`only the newest ${gcRunsKept} GC runs are kept`, withStores(async ({ gcRuns }) => {
    const ids: number[] = [];
    for (let i = 0; i < gcRunsKept + 3; i++) ids.push((await gcRuns.start({ trigger: 'cli', dryRun: false, startedAt: at(i % 60) })).id);
    const runs = await gcRuns.list();
    assert.equal(runs.length, gcRunsKept);
    assert.deepEqual(runs.map((r) => r.id), ids.slice(3).reverse());
    await gcRuns.finish(ids[0], { finishedAt: at(1), error: 'pruned meanwhile' });
  }));
}
