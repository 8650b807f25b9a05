import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AutobuildRecord, BuildStore, QueueBuildInput } from './build-store.ts';

type WithBuilds = (fn: (f: { builds: BuildStore }) => Promise<void>) => () => Promise<void>;

const at = (minute: number) => new Date(Date.UTC(2030, 0, 1, 0, minute)).toISOString();
const autobuild = (id: string, repository: string): AutobuildRecord => ({
  id, repository, git: 'https://git.example/app.git', ref: 'main', dockerfile: 'Dockerfile', context: '.', tag: 'latest', secret: 's3cret', createdAt: at(0),
});
const queued = (id: string, autobuildId: string, minute = 1, extra: Partial<QueueBuildInput> = {}): QueueBuildInput => ({
  id, autobuildId, ref: 'main', trigger: 'api', queuedAt: at(minute), ...extra,
});
const isKind = (kind: string) => (err: { kind?: string }) => err.kind === kind;

/** BuildStore's contract for one engine. */
export function describeBuildStore(withStores: WithBuilds): void {
  test('autobuilds are added once, read, listed by repository, and removed with their builds', withStores(async ({ builds }) => {
    await builds.addAutobuild(autobuild('a1', 'team/app'));
    await builds.addAutobuild(autobuild('a2', 'team/other'));
    await assert.rejects(builds.addAutobuild(autobuild('a1', 'team/x')), isKind('already-exists'));
    assert.deepEqual(await builds.getAutobuild('a1'), autobuild('a1', 'team/app'));
    assert.equal(await builds.getAutobuild('zz'), undefined);
    assert.deepEqual((await builds.listAutobuilds()).map((a) => a.id), ['a1', 'a2']);
    assert.deepEqual((await builds.listAutobuilds('team/other')).map((a) => a.id), ['a2']);
    await builds.queueBuild(queued('b1', 'a1'), 10);
    assert.deepEqual(await builds.deleteAutobuild('a1'), ['b1']);
    assert.equal(await builds.deleteAutobuild('a1'), undefined);
    assert.equal(await builds.getBuild('b1'), undefined);
    await assert.rejects(builds.queueBuild(queued('b2', 'a1'), 10), isKind('not-found'));
  }));

  test('a queued build records its input; the queue per repository is bounded and a refused one leaves nothing', withStores(async ({ builds }) => {
    await builds.addAutobuild(autobuild('a1', 'team/app'));
    await builds.addAutobuild(autobuild('a2', 'team/app'));
    const first = await builds.queueBuild(queued('b1', 'a1', 1, { commit: 'c'.repeat(40), trigger: 'webhook' }), 2);
    assert.deepEqual(first, { id: 'b1', autobuildId: 'a1', repository: 'team/app', ref: 'main', commit: 'c'.repeat(40), trigger: 'webhook', state: 'queued', queuedAt: at(1), tags: [] });
    assert.ok(await builds.queueBuild(queued('b2', 'a2'), 2));
    assert.equal(await builds.queueBuild(queued('b3', 'a1'), 2), undefined, 'two queued in team/app already');
    assert.equal(await builds.getBuild('b3'), undefined);
    const results = await Promise.all(['c1', 'c2', 'c3', 'c4'].map((id) => builds.queueBuild(queued(id, 'a1'), 4)));
    assert.equal(results.filter(Boolean).length, 2, 'concurrent queueing never passes the bound');
  }));

  test('claimNext takes the oldest queued build whose repository may run one more, once', withStores(async ({ builds }) => {
    await builds.addAutobuild(autobuild('a1', 'team/app'));
    await builds.addAutobuild(autobuild('a2', 'team/other'));
    await builds.queueBuild(queued('b1', 'a1', 1), 10);
    await builds.queueBuild(queued('b2', 'a1', 2), 10);
    await builds.queueBuild(queued('b3', 'a2', 3), 10);
    const one = await builds.claimNext(1, at(5));
    assert.equal(one?.id, 'b1');
    assert.equal(one?.state, 'running');
    assert.equal(one?.startedAt, at(5));
    assert.equal(one?.heartbeatAt, at(5));
    assert.equal((await builds.claimNext(1, at(5)))?.id, 'b3', 'team/app already runs one');
    assert.equal(await builds.claimNext(1, at(5)), undefined);
    assert.equal((await builds.claimNext(2, at(5)))?.id, 'b2', 'two allowed');
  }));

  test('claimNext passes over any number of queued builds of repositories at their running limit', withStores(async ({ builds }) => {
    await builds.addAutobuild(autobuild('a1', 'team/app'));
    await builds.addAutobuild(autobuild('a2', 'team/other'));
    for (let i = 0; i < 30; i++) await builds.queueBuild(queued(`b${String(i).padStart(2, '0')}`, 'a1', 1), 100);
    await builds.queueBuild(queued('z1', 'a2', 2), 100);
    assert.equal((await builds.claimNext(1, at(5)))?.id, 'b00');
    assert.equal((await builds.claimNext(1, at(5)))?.id, 'z1', 'past the 29 team/app builds still queued');
    assert.equal(await builds.claimNext(1, at(5)), undefined);
  }));

  test('concurrent claims never hand out one build twice nor exceed the per-repository limit', withStores(async ({ builds }) => {
    await builds.addAutobuild(autobuild('a1', 'team/app'));
    for (let i = 0; i < 4; i++) await builds.queueBuild(queued(`b${i}`, 'a1', i), 10);
    const claimed = (await Promise.all([0, 1, 2, 3].map(() => builds.claimNext(1, at(9))))).filter(Boolean);
    assert.equal(claimed.length, 1);
  }));

  test('a running build beats, records its commit and finishes once; a finished one stays finished', withStores(async ({ builds }) => {
    await builds.addAutobuild(autobuild('a1', 'team/app'));
    await builds.queueBuild(queued('b1', 'a1'), 10);
    assert.equal(await builds.heartbeat('b1', at(2)), false, 'not running yet');
    await builds.claimNext(1, at(2));
    assert.equal(await builds.heartbeat('b1', at(3)), true);
    await builds.setCommit('b1', 'd'.repeat(40));
    const result = { state: 'succeeded' as const, finishedAt: at(4), tags: ['team/app:latest', 'team/app:dddddddddddd'], digest: `sha256:${'e'.repeat(64)}` };
    assert.equal(await builds.finishBuild('b1', result), true);
    assert.equal(await builds.finishBuild('b1', { state: 'failed', finishedAt: at(5), error: 'late' }), false);
    assert.deepEqual(await builds.getBuild('b1'), {
      id: 'b1', autobuildId: 'a1', repository: 'team/app', ref: 'main', commit: 'd'.repeat(40), trigger: 'api', state: 'succeeded',
      queuedAt: at(1), startedAt: at(2), finishedAt: at(4), heartbeatAt: at(3), tags: result.tags, digest: result.digest,
    });
    assert.equal(await builds.heartbeat('b1', at(6)), false);
  }));

  test('failStale fails running builds whose heartbeat is older than the cutoff, and only those', withStores(async ({ builds }) => {
    await builds.addAutobuild(autobuild('a1', 'team/app'));
    await builds.addAutobuild(autobuild('a2', 'team/other'));
    await builds.queueBuild(queued('b1', 'a1'), 10);
    await builds.queueBuild(queued('b2', 'a2'), 10);
    await builds.queueBuild(queued('b3', 'a1'), 10);
    await builds.claimNext(1, at(2));
    await builds.claimNext(1, at(2));
    await builds.heartbeat('b2', at(10));
    const stale = await builds.failStale(at(5), at(11), 'interrupted');
    assert.deepEqual(stale.map((b) => [b.id, b.state]), [['b1', 'running']]);
    assert.deepEqual(await builds.getBuild('b1'), { ...stale[0], state: 'failed', finishedAt: at(11), error: 'interrupted' });
    assert.equal((await builds.getBuild('b2'))?.state, 'running');
    assert.equal((await builds.getBuild('b3'))?.state, 'queued', 'queued builds stay queued');
    assert.deepEqual(await builds.failStale(at(5), at(11), 'interrupted'), []);
  }));

  test('builds list newest first, per repository, after `last`; pruning keeps the newest finished ones', withStores(async ({ builds }) => {
    await builds.addAutobuild(autobuild('a1', 'team/app'));
    await builds.addAutobuild(autobuild('a2', 'team/other'));
    for (const [id, a] of [['b1', 'a1'], ['b2', 'a2'], ['b3', 'a1'], ['b4', 'a1']]) await builds.queueBuild(queued(id, a), 10);
    assert.deepEqual((await builds.listBuilds({ n: 10 })).map((b) => b.id), ['b4', 'b3', 'b2', 'b1']);
    assert.deepEqual((await builds.listBuilds({ repository: 'team/app', n: 2 })).map((b) => b.id), ['b4', 'b3']);
    assert.deepEqual((await builds.listBuilds({ repository: 'team/app', last: 'b3', n: 2 })).map((b) => b.id), ['b1']);
    assert.deepEqual((await builds.listBuilds({ last: 'b2', n: 10 })).map((b) => b.id), ['b1']);
    for (let i = 0; i < 3; i++) {
      const build = await builds.claimNext(1, at(3));
      assert.ok(build);
      await builds.finishBuild(build.id, { state: 'failed', finishedAt: at(4), error: 'x' });
    }
    assert.deepEqual(await builds.pruneBuilds('a1', 1), ['b1'], 'b3 finished later and stays; b4 is still queued');
    assert.deepEqual((await builds.listBuilds({ repository: 'team/app', n: 10 })).map((b) => b.id), ['b4', 'b3']);
  }));
}
