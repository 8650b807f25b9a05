/*
 * The VolumeDriver conformance suite: `describeVolumeDriver(name, make)`. Each case starts from a fresh driver
 * and checks that nothing is left behind once the volumes it made are removed.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { VolumeDriver } from './volume-driver.ts';

export interface VolumeDriverFixture {
  driver: VolumeDriver;
  cleanup(): Promise<void>;
}

export function describeVolumeDriver(name: string, make: () => Promise<VolumeDriverFixture>): void {
  describe(`VolumeDriver conformance: ${name}`, () => {
    let f: VolumeDriverFixture;
    beforeEach(async () => {
      f = await make();
    });
    afterEach(async () => {
      await f.cleanup();
    });

    test('a created volume has an empty, writable directory and is listed', async () => {
      await f.driver.create('data1', {});
      const dir = f.driver.path('data1');
      assert.ok((await stat(dir)).isDirectory());
      await writeFile(join(dir, 'f'), 'hello');
      assert.deepEqual(await f.driver.list(), ['data1']);
      await f.driver.remove('data1');
      assert.deepEqual(await f.driver.list(), []);
      assert.equal(existsSync(dir), false);
    });

    test('creating an existing volume keeps its data', async () => {
      await f.driver.create('keep', {});
      await writeFile(join(f.driver.path('keep'), 'f'), 'kept');
      await f.driver.create('keep', {});
      assert.equal(await readFile(join(f.driver.path('keep'), 'f'), 'utf8'), 'kept');
      await f.driver.remove('keep');
    });

    test('size counts the bytes of the files in a volume', async () => {
      await f.driver.create('sized', {});
      assert.equal(await f.driver.size('sized'), 0);
      await writeFile(join(f.driver.path('sized'), 'a'), Buffer.alloc(1000));
      assert.equal(await f.driver.size('sized'), 1000);
      await f.driver.remove('sized');
    });

    test('mounting and unmounting a volume without options keeps its data where path() says', async () => {
      await f.driver.create('plain', {});
      await writeFile(join(f.driver.path('plain'), 'f'), 'x');
      await f.driver.mount('plain', {});
      assert.equal(await readFile(join(f.driver.path('plain'), 'f'), 'utf8'), 'x');
      await f.driver.unmount('plain', {});
      await f.driver.unmount('plain', {});
      assert.equal(await readFile(join(f.driver.path('plain'), 'f'), 'utf8'), 'x');
      await f.driver.remove('plain');
    });

    test('removing a missing volume is not an error', async () => {
      await f.driver.remove('never-made');
      assert.deepEqual(await f.driver.list(), []);
    });

    test('volumes are independent of each other', async () => {
      await f.driver.create('one', {});
      await f.driver.create('two', {});
      assert.notEqual(f.driver.path('one'), f.driver.path('two'));
      await f.driver.remove('one');
      assert.deepEqual(await f.driver.list(), ['two']);
      assert.ok(existsSync(f.driver.path('two')));
      await f.driver.remove('two');
    });
  });
}
