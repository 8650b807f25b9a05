import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { withTempDir } from '../../../test/support/temp.ts';
import { Dockerignore } from './dockerignore.ts';
import { pruneIgnored } from './prune-ignored.ts';

function listTree(dir: string, prefix = ''): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((entry) => {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    return entry.isDirectory() ? [`${path}/`, ...listTree(dir, path)] : [path];
  }).sort();
}

/** Builds `paths` (a trailing `/` makes a directory) under a temp dir, prunes it with `patterns`, lists what stays. */
async function prune(paths: string[], patterns: string[]): Promise<string[]> {
  return withTempDir('wharf-prune-', async (root) => {
    for (const path of paths) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      if (path.endsWith('/')) mkdirSync(join(root, path), { recursive: true });
      else writeFileSync(join(root, path), path);
    }
    await pruneIgnored(root, new Dockerignore(patterns));
    return listTree(root);
  });
}

describe('pruneIgnored', () => {
  it('removes excluded files and whole excluded directories', async () => {
    assert.deepEqual(await prune(['a.log', 'b.txt', 'logs/x', 'logs/y/z', 'src/c.log', 'src/d.c'], ['*.log', 'logs']), ['b.txt', 'src/', 'src/c.log', 'src/d.c']);
  });

  it('keeps what an exception re-includes under an excluded directory, and only that', async () => {
    const paths = ['docs/a.md', 'docs/api/index.md', 'docs/api/other.md', 'docs/empty/', 'README.md'];
    assert.deepEqual(await prune(paths, ['docs', '!docs/api/index.md']), ['README.md', 'docs/', 'docs/api/', 'docs/api/index.md']);
  });

  it('lets a later pattern exclude again what an exception re-included', async () => {
    assert.deepEqual(await prune(['keep/a', 'keep/b', 'other'], ['*', '!keep', 'keep/b']), ['keep/', 'keep/a']);
  });

  it('matches ** at any depth and leaves empty kept directories in place', async () => {
    assert.deepEqual(await prune(['x/node_modules/m/i.js', 'node_modules/n.js', 'x/y/'], ['**/node_modules']), ['x/', 'x/y/']);
  });

  it('removes a symlink that matches without following it', async () => {
    await withTempDir('wharf-prune-', async (root) => {
      mkdirSync(join(root, 'target'));
      writeFileSync(join(root, 'target/file'), 'f');
      symlinkSync('target', join(root, 'link'));
      await pruneIgnored(root, new Dockerignore(['link']));
      assert.deepEqual(listTree(root), ['target/', 'target/file']);
    });
  });
});
