/*
 * The Snapshotter conformance suite: every implementation runs it with one call,
 * `describeSnapshotter(name, make)`. It mounts for real (mount.ts), so it needs root and overlayfs.
 * Each case checks that nothing is left behind: no snapshot, no mount.
 */
import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, rmdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { extract, pack } from 'tar-stream';
import { isFault } from '../../base/fault.ts';
import { mountAll, mountPoints, unmount } from './mount.ts';
import type { Mount, Snapshotter } from './snapshotter.ts';

export interface LayerEntry {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'fifo';
  content?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  linkname?: string;
  mtime?: Date;
}

const epoch = new Date('2020-01-02T03:04:05Z');

/** An uncompressed layer tar of `entries`, in order. */
export function layerTar(entries: readonly LayerEntry[]): Readable {
  const tar = pack();
  for (const e of entries) {
    const type = e.type ?? 'file';
    const body = type === 'file' ? Buffer.from(e.content ?? '') : undefined;
    const mode = e.mode ?? (type === 'directory' ? 0o755 : 0o644);
    tar.entry({ name: e.name, type, mode, uid: e.uid ?? 0, gid: e.gid ?? 0, mtime: e.mtime ?? epoch, linkname: e.linkname ?? '', size: body?.length ?? 0 }, body ?? Buffer.alloc(0));
  }
  tar.finalize();
  return tar as unknown as Readable;
}

/** `path kind [detail]` lines for everything under `root`, sorted: what a process in the rootfs would see. */
export async function tree(root: string): Promise<string[]> {
  const out: string[] = [];
  const visit = async (rel: string): Promise<void> => {
    for (const name of (await readdir(join(root, rel))).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      const abs = join(root, path);
      const st = await lstat(abs);
      if (st.isDirectory()) {
        out.push(`${path} dir`);
        await visit(path);
      } else if (st.isSymbolicLink()) out.push(`${path} -> ${await readlink(abs)}`);
      else if (st.isFile()) out.push(`${path} = ${await readFile(abs, 'utf8')}`);
      else out.push(`${path} special`);
    }
  };
  await visit('');
  return out;
}

/** Entry names of a tar stream, in order. */
export async function tarNames(stream: Readable): Promise<string[]> {
  const names: string[] = [];
  const ex = extract();
  stream.pipe(ex as unknown as NodeJS.WritableStream);
  for await (const entry of ex) {
    names.push(entry.header.name);
    entry.resume();
  }
  return names;
}

export interface SnapshotterFixture {
  snapshotter: Snapshotter;
  /** Reopens the same store (a restart); omit when the implementation keeps nothing. */
  reopen?: () => Promise<Snapshotter>;
  cleanup(): Promise<void>;
}

async function expectFault(promise: Promise<unknown>, kind: string): Promise<void> {
  await assert.rejects(promise, (err) => isFault(err) && err.kind === kind);
}

export function describeSnapshotter(name: string, make: () => Promise<SnapshotterFixture>): void {
  describe(`Snapshotter conformance: ${name}`, () => {
    let fixture: SnapshotterFixture;
    let s: Snapshotter;
    let scratch: string;
    const mounted: string[] = [];

    beforeEach(async () => {
      fixture = await make();
      s = fixture.snapshotter;
      scratch = await mkdtemp(join(tmpdir(), 'wharf-snap-mnt-'));
    });

    afterEach(async () => {
      for (const target of mounted.splice(0)) await unmount(target);
      const leftovers = (await mountPoints()).filter((p) => p.startsWith(scratch));
      await rm(scratch, { recursive: true, force: true });
      await fixture.cleanup();
      assert.deepEqual(leftovers, [], 'a mount was left behind');
    });

    async function mountAt(mounts: Mount[], name: string): Promise<string> {
      const target = join(scratch, name);
      await mkdir(target, { recursive: true });
      await mountAll(mounts, target);
      mounted.push(target);
      return target;
    }

    async function release(target: string): Promise<void> {
      await unmount(target);
      mounted.splice(mounted.indexOf(target), 1);
      await rmdir(target);
    }

    async function layer(key: string, parent: string | undefined, entries: LayerEntry[]): Promise<void> {
      await s.prepare(`tmp-${key}`, parent);
      await s.applyLayer(`tmp-${key}`, layerTar(entries));
      await s.commit(key, `tmp-${key}`);
    }

    async function removeAll(): Promise<void> {
      // Children first: walk until empty.
      for (let round = 0; round < 20; round++) {
        const keys: string[] = [];
        for await (const info of s.walk()) keys.push(info.key);
        if (!keys.length) return;
        for (const key of keys) await s.remove(key).catch(() => undefined);
      }
      assert.fail('snapshots could not be removed');
    }

    const base: LayerEntry[] = [
      { name: 'etc/', type: 'directory' },
      { name: 'etc/passwd', content: 'root:x:0:0::/root:/bin/sh\n' },
      { name: 'etc/motd', content: 'hello' },
      { name: 'bin/', type: 'directory' },
      { name: 'bin/tool', content: '#!/bin/sh\n', mode: 0o4755, uid: 1000, gid: 1000 },
      { name: 'bin/alias', type: 'link', linkname: 'bin/tool' },
      { name: 'bin/sh', type: 'symlink', linkname: '/bin/tool' },
      { name: 'var/', type: 'directory' },
      { name: 'var/cache/', type: 'directory' },
      { name: 'var/cache/a', content: 'A' },
      { name: 'var/cache/b', content: 'B' },
      { name: 'opt/old/', type: 'directory' },
      { name: 'opt/old/x', content: 'x' },
      { name: 'run/fifo', type: 'fifo' },
    ];

    test('a base layer keeps contents, modes, owners, hardlinks, symlinks and mtimes', async () => {
      await layer('L1', undefined, base);
      const root = await mountAt(await s.view('v', 'L1'), 'v');
      const tool = await lstat(join(root, 'bin/tool'));
      assert.equal(tool.mode & 0o7777, 0o4755);
      assert.equal(tool.uid, 1000);
      assert.equal(tool.mtime.getTime(), epoch.getTime());
      assert.equal((await lstat(join(root, 'bin/alias'))).ino, tool.ino);
      assert.equal(await readlink(join(root, 'bin/sh')), '/bin/tool');
      assert.ok((await lstat(join(root, 'run/fifo'))).isFIFO());
      assert.equal((await lstat(join(root, 'etc'))).mtime.getTime(), epoch.getTime());
      await assert.rejects(writeFile(join(root, 'etc/new'), 'x'), /EROFS/);
      await release(root);
      await s.remove('v');
      await removeAll();
    });

    test('whiteouts and opaque directories hide the layers below in the mounted chain', async () => {
      await layer('L1', undefined, base);
      await layer('L2', 'L1', [
        { name: 'etc/', type: 'directory' },
        { name: 'etc/.wh.motd' },
        { name: 'opt/.wh.old' },
        // The opaque marker after a child this layer adds: the child stays.
        { name: 'var/cache/', type: 'directory' },
        { name: 'var/cache/c', content: 'C' },
        { name: 'var/cache/.wh..wh..opq' },
        { name: 'etc/passwd', content: 'root:x:0:0::/root:/bin/sh\nuser:x:1:1::/:/bin/sh\n' },
      ]);
      await layer('L3', 'L2', [{ name: 'opt/old/', type: 'directory' }, { name: 'opt/old/y', content: 'y' }]);
      const view = await mountAt(await s.view('v', 'L3'), 'v');
      const seen = await tree(view);
      assert.ok(!seen.includes('etc/motd = hello'), 'whiteout hides etc/motd');
      assert.ok(seen.includes('var/cache/c = C'));
      assert.ok(!seen.some((l) => l.startsWith('var/cache/a') || l.startsWith('var/cache/b')), 'opaque dir hides the lower children');
      assert.ok(seen.includes('opt/old/y = y'));
      assert.ok(!seen.includes('opt/old/x = x'), 'a directory re-created over a whiteout is opaque');
      assert.ok(seen.includes('etc/passwd = root:x:0:0::/root:/bin/sh\nuser:x:1:1::/:/bin/sh\n'));
      const rw = await mountAt(await s.prepare('c1', 'L3'), 'c1');
      assert.deepEqual(await tree(rw), seen);
      await writeFile(join(rw, 'etc/new'), 'n');
      await release(rw);
      await release(view);
      await s.remove('c1');
      await s.remove('v');
      await removeAll();
    });

    test('diff of a container round-trips through applyLayer', async () => {
      await layer('L1', undefined, base);
      const rw = await mountAt(await s.prepare('c1', 'L1'), 'c1');
      await writeFile(join(rw, 'etc/added'), 'added');
      await writeFile(join(rw, 'etc/passwd'), 'changed\n');
      await rm(join(rw, 'etc/motd'));
      await rm(join(rw, 'var/cache'), { recursive: true });
      await mkdir(join(rw, 'var/cache'));
      await writeFile(join(rw, 'var/cache/fresh'), 'F');
      await rm(join(rw, 'opt'), { recursive: true });
      const expected = await tree(rw);
      await release(rw);
      const changes = await s.changes?.('c1');
      if (changes) {
        const kinds = Object.fromEntries(changes.map((c) => [c.path, c.kind]));
        assert.equal(kinds['/etc/added'], 'added');
        assert.equal(kinds['/etc/passwd'], 'modified');
        assert.equal(kinds['/etc/motd'], 'deleted');
        assert.equal(kinds['/opt'], 'deleted');
      }
      const names = await tarNames(await s.diff('c1'));
      assert.ok(names.includes('etc/.wh.motd'));
      assert.ok(names.includes('var/cache/.wh..wh..opq'));
      assert.ok(names.includes('.wh.opt'));
      await s.prepare('tmp', 'L1');
      await s.applyLayer('tmp', await s.diff('c1'));
      await s.commit('L2', 'tmp');
      const view = await mountAt(await s.view('v', 'L2'), 'v');
      assert.deepEqual(await tree(view), expected);
      await release(view);
      await s.remove('v');
      await s.remove('c1');
      await removeAll();
    });

    test('layer entries cannot escape the root', async () => {
      const outside = await mkdtemp(join(tmpdir(), 'wharf-outside-'));
      try {
        await s.prepare('a');
        await expectFault(s.applyLayer('a', layerTar([{ name: '../escape', content: 'x' }])), 'invalid-argument');
        await s.prepare('b');
        const planted = layerTar([
          { name: 'link', type: 'symlink', linkname: outside },
          { name: 'link/pwned', content: 'x' },
        ]);
        await expectFault(s.applyLayer('b', planted), 'invalid-argument');
        await s.prepare('c');
        // Replacing a planted symlink with a file writes the file, never through the link.
        await s.applyLayer('c', layerTar([{ name: 'f', type: 'symlink', linkname: join(outside, 'target') }, { name: 'f', content: 'safe' }]));
        assert.deepEqual(await readdir(outside), []);
      } finally {
        await rm(outside, { recursive: true, force: true });
      }
      await removeAll();
    });

    test('lifecycle errors are faults of the right kind', async () => {
      await s.prepare('a');
      await expectFault(s.prepare('a'), 'already-exists');
      await expectFault(s.prepare('b', 'missing'), 'not-found');
      await expectFault(s.prepare('b', 'a'), 'failed-precondition');
      await s.commit('A', 'a');
      await expectFault(s.commit('A2', 'a'), 'not-found');
      await expectFault(s.mounts('A'), 'failed-precondition');
      await s.prepare('child', 'A');
      await expectFault(s.remove('A'), 'failed-precondition');
      await expectFault(s.remove('nope'), 'not-found');
      assert.equal(await s.stat('nope'), undefined);
      assert.deepEqual({ ...(await s.stat('child')), createdAt: '' }, { key: 'child', parent: 'A', kind: 'active', createdAt: '' });
      await s.remove('child');
      await s.remove('A');
      const left: string[] = [];
      for await (const info of s.walk()) left.push(info.key);
      assert.deepEqual(left, []);
    });

    test('an empty parent prepares an empty writable rootfs', async () => {
      const root = await mountAt(await s.prepare('empty'), 'e');
      assert.deepEqual(await readdir(root), []);
      await writeFile(join(root, 'x'), 'x');
      await release(root);
      const names = await tarNames(await s.diff('empty'));
      assert.deepEqual(names, ['x']);
      await s.remove('empty');
    });

    test('snapshots survive a reopen', async (t) => {
      if (!fixture.reopen) return t.skip('the implementation keeps nothing across instances');
      await layer('L1', undefined, base);
      await s.prepare('c', 'L1');
      s = await fixture.reopen();
      assert.equal((await s.stat('c'))?.parent, 'L1');
      const root = await mountAt(await s.mounts('c'), 'c');
      assert.ok((await tree(root)).includes('etc/motd = hello'));
      await release(root);
      await removeAll();
    });
  });
}
