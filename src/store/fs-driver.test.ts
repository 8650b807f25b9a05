import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { FsDriver } from './fs-driver.ts';
import { describeStorageDriver } from './storage-driver-conformance.ts';

describeStorageDriver('FsDriver', async () => {
  const root = await mkdtemp(join(tmpdir(), 'wharf-fs-driver-'));
  return {
    driver: new FsDriver({ root }),
    reopen: async () => new FsDriver({ root }),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});

describe('FsDriver on disk', () => {
  test('paths are files under the root; a committed writer leaves a read-only file', async () => {
    await withDriver(async (root, driver) => {
      const writer = await driver.writer('ingest/r/data', { append: false });
      await writer.write(Readable.from([Buffer.from('hello')]));
      await writer.commit();
      await driver.move('ingest/r/data', 'blobs/sha256/ab/abc');
      const info = await stat(join(root, 'blobs', 'sha256', 'ab', 'abc'));
      assert.equal(info.size, 5);
      assert.equal(info.mode & 0o777, 0o444);
      assert.deepEqual(await readdir(join(root, 'ingest', 'r')), []);
    });
  });

  test('a file set aside by a crashed removeIfUnusedSince is put back by recoverRemovals, unless one was published meanwhile', async () => {
    await withDriver(async (root, driver) => {
      const shard = join(root, 'blobs', 'sha256', 'ab');
      await mkdir(shard, { recursive: true });
      await writeFile(join(shard, 'abc1.gc-0f8fad5b-d9cb-469f-a165-70867728950e'), 'aside');
      await writeFile(join(shard, 'abc2'), 'published');
      await writeFile(join(shard, 'abc2.gc-7c9e6679-7425-40de-944b-e07fc1f90ae7'), 'aside');
      assert.equal(await driver.recoverRemovals('blobs'), 2);
      assert.deepEqual((await readdir(shard)).sort(), ['abc1', 'abc2']);
      assert.equal((await driver.getContent('blobs/sha256/ab/abc1', 100)).toString(), 'aside');
      assert.equal((await driver.getContent('blobs/sha256/ab/abc2', 100)).toString(), 'published');
    });
  });

  test('emptyDirectories yields the directories under a prefix that hold nothing, at any depth', async () => {
    await withDriver(async (root, driver) => {
      await mkdir(join(root, 'ingest', 'empty'), { recursive: true });
      await mkdir(join(root, 'ingest', 'deeper', 'empty'), { recursive: true });
      await driver.putContent('ingest/full/data', Buffer.from('x'));
      await mkdir(join(root, 'blobs', 'elsewhere'), { recursive: true });
      const found = [];
      for await (const dir of driver.emptyDirectories('ingest')) found.push(dir);
      assert.deepEqual(found.map((d) => d.path).sort(), ['ingest/deeper/empty', 'ingest/empty']);
      assert.ok(found.every((d) => d.modifiedAt instanceof Date));
      const none = [];
      for await (const dir of driver.emptyDirectories('absent')) none.push(dir);
      assert.deepEqual(none, []);
    });
  });

  test('a writer appends to a file left read-only by a commit interrupted before its move', async () => {
    await withDriver(async (_root, driver) => {
      const writer = await driver.writer('ingest/frozen/data', { append: false });
      await writer.write(Readable.from([Buffer.from('abc')]));
      await writer.commit();
      const again = await driver.writer('ingest/frozen/data', { append: true });
      assert.equal(again.size, 3);
      await again.write(Readable.from([Buffer.from('def')]));
      await again.commit();
      assert.equal((await driver.getContent('ingest/frozen/data', 10)).toString(), 'abcdef');
    });
  });

  test('paths that could leave the root are refused', async () => {
    await withDriver(async (_root, driver) => {
      for (const bad of ['../x', '/etc/passwd', 'a//b', 'a/./b', 'a/../../b', '']) {
        await assert.rejects(driver.stat(bad), /invalid storage path/);
      }
    });
  });
});

async function withDriver(fn: (root: string, driver: FsDriver) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'wharf-fs-driver-'));
  try {
    await fn(root, new FsDriver({ root }));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
