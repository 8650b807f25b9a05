import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { imageFixture, type ImageFixture } from '../../../test/support/image-fixture.ts';
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../../base/log.ts';
import { pruneBuildCache } from '../images/image-prune.ts';
import { BuildCache } from './build-cache.ts';

describe('BuildCache', () => {
  let f: ImageFixture;
  let cache: BuildCache;
  beforeEach(() => {
    f = imageFixture();
    cache = new BuildCache({ store: f.service.store, blobs: f.blobs });
  });
  afterEach(() => f.close());

  test('lookup finds the newest child of the parent recorded with the key, and nothing else', async () => {
    const base = await f.base(1, 'busybox');
    const older = await f.commit(base, 2);
    const newer = await f.commit(base, 3);
    const other = await f.commit(base, 4);
    assert.equal(cache.lookup(base, 'RUN x'), undefined, 'a plain docker commit is no cache');
    cache.record(base, 'RUN x', older);
    cache.record(base, 'RUN x', newer);
    cache.record(base, 'RUN y', other);
    assert.equal(cache.lookup(base, 'RUN x'), newer);
    assert.equal(cache.lookup(base, 'RUN y'), other);
    assert.equal(cache.lookup(older, 'RUN x'), undefined);
    assert.equal(f.reopen().builtChild(base, 'RUN x'), newer, 'kept in images.json');
  });

  test('lookup on FROM scratch finds parentless images the build made', async () => {
    const scratch = await f.service.deriveConfig('', { Cmd: ['x'] }, 'CMD x');
    assert.equal(cache.lookup('', 'CMD x'), undefined);
    cache.record('', 'CMD x', scratch);
    assert.equal(cache.lookup('', 'CMD x'), scratch);
  });

  test('after builder prune -a, a FROM scratch step does not hit a build result that lost its busybox parent', async () => {
    const base = await f.base(1, 'busybox');
    const step1 = await f.commit(base, 2);
    cache.record(base, 'K-run', step1);
    const final = await f.commit(step1, 3, { repo: 'app' });
    cache.record(step1, 'K-copy', final);
    assert.equal(cache.lookup('', 'K-copy'), undefined);
    await pruneBuildCache(f.service, { all: true, logger: createLogger({ level: 'silent' }) });
    assert.equal(f.service.store.get(final)?.parent, undefined);
    assert.equal(f.service.store.get(final)?.buildKey, undefined, 'the key went with the parent link');
    assert.equal(cache.lookup('', 'K-copy'), undefined);
    assert.equal(f.reopen().builtChild('', 'K-copy'), undefined);
  });

  test('a key recorded on one parent never matches on another, even when a file lost the link', async () => {
    const base = await f.base(1, 'busybox');
    const child = await f.commit(base, 2);
    cache.record(base, 'k', child);
    const file = join(f.dir, 'images.json');
    const data = JSON.parse(readFileSync(file, 'utf8'));
    for (const image of data.images) if (image.id === child) delete image.parent;
    writeFileSync(file, JSON.stringify(data));
    const store = f.reopen();
    assert.equal(store.builtChild('', 'k'), undefined);
    assert.equal(store.builtChild(base, 'k'), undefined);
  });

  test('an images.json whose record names a missing parent loads it without the link and without the key', async () => {
    const base = await f.base(1, 'busybox');
    const child = await f.commit(base, 2);
    cache.record(base, 'k', child);
    const file = join(f.dir, 'images.json');
    const data = JSON.parse(readFileSync(file, 'utf8'));
    data.images = data.images.filter((image: { id: string }) => image.id !== base);
    writeFileSync(file, JSON.stringify(data));
    const store = f.reopen();
    assert.equal(store.get(child)?.parent, undefined);
    assert.equal(store.get(child)?.buildKey, undefined);
  });

  test('a ring of parent links in images.json neither hangs the store nor the cache', async () => {
    const a = await f.base(1, 'a');
    const b = await f.commit(a, 2, { buildKey: 'k' });
    const file = join(f.dir, 'images.json');
    const data = JSON.parse(readFileSync(file, 'utf8'));
    for (const image of data.images) if (image.id === a) image.parent = b;
    writeFileSync(file, JSON.stringify(data));
    const store = f.reopen();
    const links = [store.get(a)?.parent, store.get(b)?.parent].filter(Boolean);
    assert.equal(links.length, 1, 'one link of the ring is dropped');
    assert.throws(() => f.service.store.setParent(a, b), /cannot descend from its own descendant/);
    assert.equal(await cache.lookupFrom(['a'], b, 'x', false, { key: 'k' }), undefined);
  });

  /** A `--cache-from` image as a pull leaves it: the same history and layers, but no parent links. */
  async function pulledChain(): Promise<{ base: string; step1: string; step2: string; step3: string }> {
    const base = await f.base(1, 'busybox');
    const step1 = await f.commit(base, 2, { createdBy: '/bin/sh -c echo one' });
    const step2 = await f.service.deriveConfig(step1, { Env: ['A=1'] }, '/bin/sh -c #(nop)  ENV A=1');
    const step3 = await f.commit(step2, 3, { createdBy: '/bin/sh -c echo three', repo: 'cache' });
    f.service.store.delete(step2);
    f.service.store.delete(step1);
    assert.equal(f.service.store.get(step3)?.parent, undefined);
    return { base, step1, step2, step3 };
  }

  test('lookupFrom rebuilds the step images from a pulled image history, then hands back the image itself', async () => {
    const { base, step3 } = await pulledChain();
    const source = f.service.store.get(step3)!;
    assert.equal(await cache.lookupFrom(['cache'], base, '/bin/sh -c echo other', false), undefined, 'another command misses');
    assert.equal(await cache.lookupFrom(['cache'], base, '/bin/sh -c echo one', true), undefined, 'a layer step is not an empty one');
    const one = await cache.lookupFrom(['cache'], base, '/bin/sh -c echo one', false);
    assert.ok(one);
    const restored = f.service.store.get(one)!;
    assert.equal(restored.parent, base);
    assert.deepEqual(restored.layers, source.layers.slice(0, 2));
    const config = await f.service.store.config(one);
    assert.deepEqual(config.rootfs.diff_ids, source.layers.slice(0, 2).map((l) => l.diffId));
    assert.equal(config.history?.at(-1)?.created_by, '/bin/sh -c echo one');
    assert.equal(await cache.lookupFrom(['cache'], base, '/bin/sh -c echo one', false), one, 'the same image again');
    const env = await cache.lookupFrom(['cache'], one, '/bin/sh -c #(nop)  ENV A=1', true, { config: { Env: ['A=1'] } });
    assert.ok(env);
    assert.deepEqual((await f.service.store.config(env)).config, { Env: ['A=1'] });
    assert.equal(f.service.store.get(env)?.layers.length, 2);
    assert.equal(await cache.lookupFrom(['cache'], env, '/bin/sh -c echo three', false), step3);
    assert.equal(f.service.store.get(step3)?.parent, env, 'the source now descends from the rebuilt chain');
  });

  test('lookupFrom takes a local hit only when it is an ancestor of a --cache-from image', async () => {
    const base = await f.base(1, 'busybox');
    const step = await f.commit(base, 2, { createdBy: 'RUN a', buildKey: 'k' });
    const top = await f.commit(step, 3, { createdBy: 'RUN b', repo: 'app' });
    const unrelated = await f.base(9, 'unrelated');
    assert.equal(await cache.lookupFrom(['unrelated'], base, 'no such step', false, { key: 'k' }), undefined);
    assert.equal(await cache.lookupFrom(['app'], base, 'no such step', false, { key: 'k' }), step);
    assert.equal(await cache.lookupFrom(['nope:missing'], base, 'RUN a', false, { key: 'k' }), undefined, 'unknown names are skipped');
    assert.ok(top && unrelated);
  });
});
