/*
 * Removes from a context directory what `.dockerignore` excludes, walking it as moby's archive.TarWithOptions does
 * when a client makes the context tar: each entry is matched with its parent directory's results; an excluded
 * directory is removed whole unless an exception (`!…`) names something under it, and then only its included
 * entries stay (a directory left empty goes too, as the tar would not have held it). Symlinks are never followed.
 */
import { readdir, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Dockerignore, ParentMatches } from './dockerignore.ts';

export async function pruneIgnored(root: string, ignore: Dockerignore): Promise<void> {
  await pruneDir(root, '', ignore, undefined);
}

async function pruneDir(root: string, dir: string, ignore: Dockerignore, parent: ParentMatches | undefined): Promise<void> {
  for (const entry of await readdir(join(root, dir), { withFileTypes: true })) {
    const path = dir ? `${dir}/${entry.name}` : entry.name;
    const host = join(root, path);
    const { excluded, matches } = ignore.matchesUnder(path, parent);
    if (!excluded) {
      if (entry.isDirectory()) await pruneDir(root, path, ignore, matches);
      continue;
    }
    if (!entry.isDirectory() || !ignore.reincludesUnder(path)) {
      await rm(host, { recursive: true, force: true });
      continue;
    }
    await pruneDir(root, path, ignore, matches);
    if ((await readdir(host)).length === 0) await rmdir(host);
  }
}
