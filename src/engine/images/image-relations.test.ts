import assert from 'node:assert/strict';
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { imageFixture, type ImageFixture } from '../../../test/support/image-fixture.ts';
import { createLogger } from '../../base/log.ts';
import { pruneBuildCache, pruneImages } from './image-prune.ts';

const logger = createLogger({ level: 'silent' });

describe('image parent links', () => {
  let f: ImageFixture;
  beforeEach(() => (f = imageFixture()));
  afterEach(() => f.close());

  /** busybox (tagged) <- one <- two (tagged `top`): the chain docker commit makes. */
  async function chain(): Promise<{ base: string; one: string; two: string }> {
    const base = await f.base(1, 'busybox');
    const one = await f.commit(base, 2);
    const two = await f.commit(one, 3, { repo: 'top' });
    return { base, one, two };
  }

  test('commit keeps the container image as parent; the links survive a restart and old files load', async () => {
    const { base, one, two } = await chain();
    assert.equal(f.service.store.get(one)?.parent, base);
    assert.deepEqual(f.service.store.children(one), [two]);
    assert.equal(f.service.store.isIntermediate(one), true);
    assert.equal(f.service.store.isIntermediate(two), false);
    const reopened = f.reopen();
    assert.equal(reopened.get(two)?.parent, one);
    assert.deepEqual(reopened.children(base), [one]);
    // An images.json from before parent links: records without the field load as parentless.
    const file = join(f.dir, 'images.json');
    const data = JSON.parse(readFileSync(file, 'utf8'));
    for (const image of data.images) delete image.parent;
    writeFileSync(file, JSON.stringify(data));
    assert.deepEqual(f.reopen().children(base), []);
  });

  test('history names each entry by the image of the parent chain that made it', async () => {
    const { base, one, two } = await chain();
    const history = await f.service.history('top');
    assert.deepEqual(history.map((h) => [h.Id, h.Tags]), [[two, ['top:latest']], [one, null], [base, ['busybox:latest']]]);
  });

  test('deriveConfig links its parent and records the build key; FROM scratch has none', async () => {
    const base = await f.base(1, 'busybox');
    const derived = await f.service.deriveConfig(base, { Env: ['A=1'] }, '/bin/sh -c #(nop)  ENV A=1', { buildKey: 'k' });
    assert.equal(f.service.store.get(derived)?.parent, base);
    assert.equal(f.service.store.builtChild(base, 'k'), derived);
    const scratch = await f.service.deriveConfig('', { Cmd: ['x'] }, '/bin/sh -c #(nop)  CMD ["x"]', { buildKey: 's' });
    assert.equal(f.service.store.get(scratch)?.parent, undefined);
    assert.deepEqual(f.service.store.get(scratch)?.layers, []);
    assert.equal(f.service.store.builtChild('', 's'), scratch);
  });

  test('rmi of a tagged child deletes its untagged parents up to a tagged one, in moby order', async () => {
    const { base, one, two } = await chain();
    const [, layerOne, layerTwo] = f.service.store.get(two)!.layers.map((l) => l.chainId);
    assert.deepEqual(await f.service.remove('top'), [
      { Untagged: 'top:latest' },
      { Deleted: two },
      { Deleted: layerTwo },
      { Deleted: one },
      { Deleted: layerOne },
    ]);
    assert.ok(f.service.store.get(base));
    assert.deepEqual(f.service.store.children(base), []);
  });

  test('rmi with noprune leaves the untagged parent', async () => {
    const { one, two } = await chain();
    const records = await f.service.remove('top', { prune: false });
    assert.ok(records.some((r) => 'Deleted' in r && r.Deleted === two));
    assert.ok(f.service.store.get(one));
  });

  test('an image with children cannot be deleted, even forced; untagging it leaves it in place', async () => {
    const { base, one } = await chain();
    for (const force of [false, true]) {
      await assert.rejects(f.service.remove(one.slice(7, 19), { force }), {
        message: `conflict: unable to delete ${one.slice(7, 19)} (cannot be forced) - image has dependent child images`,
      });
    }
    assert.deepEqual(await f.service.remove('busybox'), [{ Untagged: 'busybox:latest' }]);
    assert.ok(f.service.store.get(base));
  });

  test('the parent chain stops at a parent with another child or one a container uses', async () => {
    const { one, two } = await chain();
    const sibling = await f.commit(one, 4, { repo: 'sib' });
    const removed = await f.service.remove('top');
    assert.ok(removed.some((r) => 'Deleted' in r && r.Deleted === two));
    assert.ok(f.service.store.get(one), 'the parent with another child stays');
    f.users.set(one, [{ id: 'd'.repeat(64), running: false }]);
    const again = await f.service.remove('sib');
    assert.ok(again.some((r) => 'Deleted' in r && r.Deleted === sibling));
    assert.ok(f.service.store.get(one), 'the parent a container uses stays');
  });

  test('moby: two tags of one repository are not a single reference, so rmi by ID needs force', async () => {
    const base = await f.base(1, 'bb:a');
    f.service.tag(base, 'bb', 'b');
    await assert.rejects(f.service.remove(base.slice(7, 19)), /\(must be forced\) - image is referenced in multiple repositories/);
  });
});

describe('image prune and builder prune', () => {
  let f: ImageFixture;
  beforeEach(() => (f = imageFixture()));
  afterEach(() => f.close());

  test('image prune removes dangling images and their untagged parents; intermediates of tagged images stay', async () => {
    const base = await f.base(1, 'busybox');
    const kept = await f.commit(base, 2);
    const tagged = await f.commit(kept, 3, { repo: 'app' });
    const lost = await f.commit(base, 4);
    const dangling = await f.commit(lost, 5);
    const [, lostLayer, danglingLayer] = f.service.store.get(dangling)!.layers;
    const report = await pruneImages(f.service, { danglingOnly: true, logger });
    assert.deepEqual(report.deleted, [
      { Deleted: dangling },
      { Deleted: danglingLayer.chainId },
      { Deleted: lost },
      { Deleted: lostLayer.chainId },
    ]);
    assert.equal(report.reclaimed, lostLayer.size + danglingLayer.size);
    assert.ok(f.service.store.get(kept) && f.service.store.get(tagged));
  });

  test('image prune -a removes unused images, never one a container uses or its parents', async () => {
    const base = await f.base(1, 'busybox');
    const used = await f.commit(base, 2, { repo: 'used' });
    const unused = await f.base(3, 'unused');
    f.users.set(used, [{ id: 'e'.repeat(64), running: true }]);
    const report = await pruneImages(f.service, { danglingOnly: false, logger });
    assert.ok(report.deleted.some((r) => 'Deleted' in r && r.Deleted === unused));
    assert.ok(f.service.store.get(used) && f.service.store.get(base));
  });

  test('builder prune removes leftover step images; -a also the intermediates of tagged builds', async () => {
    const base = await f.base(1, 'busybox');
    const step1 = await f.commit(base, 2, { buildKey: 'one' });
    const final = await f.commit(step1, 3, { buildKey: 'two', repo: 'app' });
    const old1 = await f.commit(base, 4, { buildKey: 'old' });
    const old2 = await f.service.deriveConfig(old1, { Cmd: ['x'] }, 'CMD x', { buildKey: 'old2' });
    const first = await pruneBuildCache(f.service, { all: false, logger });
    assert.deepEqual(first.deleted, [old2, old1]);
    assert.equal(first.reclaimed, 512 + 4, 'the one layer the leftover steps added');
    assert.ok(f.service.store.get(step1));
    const all = await pruneBuildCache(f.service, { all: true, logger });
    assert.deepEqual(all.deleted, [step1]);
    assert.equal(f.service.store.get(final)?.parent, undefined);
    assert.equal(f.service.store.get(final)?.layers.length, 3, 'the tagged image keeps its layers');
  });

  test('builder prune applies until before asking whether all children are cache: a kept child keeps its parent', async () => {
    const base = await f.base(1, 'busybox');
    const old = await f.commit(base, 2, { buildKey: 'old' });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const until = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const fresh = await f.commit(old, 3, { buildKey: 'fresh' });
    assert.deepEqual((await pruneBuildCache(f.service, { all: false, until, logger })).deleted, []);
    assert.equal(f.service.store.get(fresh)?.parent, old);
    assert.deepEqual((await pruneBuildCache(f.service, { all: false, logger })).deleted, [fresh, old]);
  });

  test('builder prune keeps what containers use and honours until', async () => {
    const base = await f.base(1, 'busybox');
    const step = await f.commit(base, 2, { buildKey: 'one' });
    f.users.set(step, [{ id: 'f'.repeat(64), running: false }]);
    assert.deepEqual((await pruneBuildCache(f.service, { all: true, logger })).deleted, []);
    f.users.clear();
    assert.deepEqual((await pruneBuildCache(f.service, { all: true, until: Date.now() - 3_600_000, logger })).deleted, []);
    assert.deepEqual((await pruneBuildCache(f.service, { all: true, logger })).deleted, [step]);
  });
});
