import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { describeSnapshotter, layerTar } from './conformance.ts';
import { mountPoints } from './mount.ts';
import { OverlaySnapshotter } from './overlay-snapshotter.ts';

describeSnapshotter('OverlaySnapshotter', async () => {
  const root = await mkdtemp(join(tmpdir(), 'wharf-snapshots-'));
  return {
    snapshotter: new OverlaySnapshotter({ root }),
    reopen: async () => new OverlaySnapshotter({ root }),
    cleanup: async () => {
      // Every case removes its snapshots: only the metadata file may remain.
      const left = (await readdir(root)).filter((n) => n !== 'metadata.json');
      await rm(root, { recursive: true, force: true });
      assert.deepEqual(left, [], 'snapshot directories were left behind');
    },
  };
});

test('removing snapshots deletes their directories and an orphan directory is removed on open', async () => {
  const root = await mkdtemp(join(tmpdir(), 'wharf-snapshots-'));
  try {
    const s = new OverlaySnapshotter({ root });
    await s.prepare('a');
    await s.applyLayer('a', layerTar([{ name: 'f', content: 'x' }]));
    await s.commit('A', 'a');
    await s.prepare('c', 'A');
    assert.deepEqual((await readdir(root)).sort(), ['1', '2', 'metadata.json']);
    await s.remove('c');
    assert.deepEqual((await readdir(root)).sort(), ['1', 'metadata.json']);
    assert.deepEqual(await s.usage('A'), { size: 1, inodes: 1 });
    await rm(join(root, 'metadata.json'));
    new OverlaySnapshotter({ root });
    assert.deepEqual(await readdir(root), []);
    assert.deepEqual((await mountPoints()).filter((p) => p.startsWith(root)), []);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
