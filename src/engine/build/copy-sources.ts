/*
 * The sources of one COPY or ADD, as moby's classic builder reads them (builder/dockerfile/copy.go): each source
 * resolved inside its root (the context, or a stage's or image's rootfs for --from; `..`, absolute paths and
 * symlinks never leave it), wildcards expanded over that root, URLs downloaded (ADD), and every one checksummed
 * for the build cache and the history text before anything is copied. apply() then copies into a container's
 * rootfs: a directory's contents, a file to the destination (or into it when it is a directory or ends in `/`),
 * a local tar archive extracted (ADD). Owners are root's unless --chown; --from without --chown keeps the source's;
 * an extracted archive keeps its own even with --chown, as moby's classic builder does.
 */
import { createHash } from 'node:crypto';
import { lstat, readdir, readlink, rm, stat } from 'node:fs/promises';
import { join, posix, relative } from 'node:path';
import { Fault, isFault } from '../../base/fault.ts';
import { extractArchive, isTarArchive } from './add-archive.ts';
import { type Download, downloadSource, unnamedFilename } from './add-url.ts';
import { isHttpUrl } from './http-get.ts';
import { resolveChown } from './copy-owner.ts';
import { copyIntoRoot, type CopyIntoRootOptions, makeDirs, resolveInRoot } from './scoped-copy.ts';
import { mapConcurrent } from './map-concurrent.ts';
import { hasWildcards, matchPath } from './source-glob.ts';
import { entryHash, type HashedEntry, hashList, type HostNames, loadHostNames } from './source-hash.ts';

export interface CopySpec {
  keyword: 'COPY' | 'ADD';
  /** Expanded. */
  sources: string[];
  /** Expanded, as written (relative to workdir unless absolute). */
  destination: string;
  workdir: string;
  /** The host directory the sources are relative to: the context dir, or a stage's or image's rootfs (--from). */
  from: string;
  /** False for --from: a missing source is then not "in build context", and owners are kept without --chown. */
  fromContext: boolean;
  /** The context tar's member names (BuildContext.members): a directory it had no header for hashes as its path. */
  contextMembers?: ReadonlySet<string>;
  /** As written (expanded). */
  chown?: string;
  chmod?: string;
  /** Where downloads are kept while the step runs. */
  scratchDir: string;
  signal?: AbortSignal;
}

export interface PreparedCopy {
  /** For the cache key: names, content, mode, owner (not mtime) of every source, the destination and the flags. */
  checksum: string;
  /** moby's history text: `file:<sha> in <dest>`, `dir:<sha> in <dest>`, `multi:<sha> in <dest>`. */
  describe: string;
  /** Copies into a container rootfs (not running); every path resolved inside `root`. */
  apply(root: string): Promise<void>;
  dispose(): Promise<void>;
}

/** One resolved source. */
interface SourceInfo {
  /** The host path (symlinks resolved inside its root). */
  path: string;
  /** The path as written (or matched), whose last element names the copy in a directory destination. */
  origin: string;
  hash: string;
  /** A directory's symlinks and their targets, which moby's hash does not cover. */
  links?: string[];
  isDir: boolean;
  /** ADD of a local tar archive: extracted, not copied. */
  extract: boolean;
}

/** Entries of a directory source stat'ed and hashed at once (each a few thread-pool round trips). */
const hashConcurrency = 16;

export async function prepareCopy(spec: CopySpec): Promise<PreparedCopy> {
  const mode = parseChmod(spec.chmod);
  const downloads: Download[] = [];
  const dispose = () => Promise.all(downloads.map((d) => rm(d.dir, { recursive: true, force: true }))).then(() => undefined);
  try {
    const infos = await collectSources(spec, downloads);
    if (infos.length > 1 && !spec.destination.endsWith('/')) {
      throw new Fault('invalid-argument', `When using ${spec.keyword} with more than one source file, the destination must be a directory and end with a /`);
    }
    const sourceHash = infos.length === 1 ? infos[0]!.hash : hashList('multi', infos.map((i) => i.hash));
    const destination = normalizeDest(spec.workdir, spec.destination);
    const key = [spec.keyword, sourceHash, destination, spec.chown ?? '', spec.chmod ?? '', infos.map((i) => i.links ?? [])];
    return {
      checksum: `sha256:${createHash('sha256').update(JSON.stringify(key)).digest('hex')}`,
      describe: `${sourceHash} in ${spec.destination}`,
      apply: (root) => applyCopy(root, infos, { spec, destination, mode }),
      dispose,
    };
  } catch (err) {
    await dispose();
    throw err;
  }
}

/** moby's normalizeDest: relative to the working directory, a trailing `/` kept. */
export function normalizeDest(workdir: string, destination: string): string {
  if (destination.startsWith('/')) return destination;
  const joined = posix.join('/', workdir || '/', destination);
  return destination.endsWith('/') && !joined.endsWith('/') ? `${joined}/` : joined;
}

/** `--chmod` as octal (BuildKit's reading; the classic builder had none). */
export function parseChmod(chmod: string | undefined): number | undefined {
  if (chmod === undefined) return undefined;
  if (!/^[0-7]+$/.test(chmod) || parseInt(chmod, 8) > 0o7777) {
    throw new Fault('invalid-argument', `invalid chmod parameter: ${chmod}. it should be octal string and between 0 and 07777`);
  }
  return parseInt(chmod, 8);
}

async function collectSources(spec: CopySpec, downloads: Download[]): Promise<SourceInfo[]> {
  const infos: SourceInfo[] = [];
  try {
    // A rootfs (--from) is hashed as moby stats it, with the host's names for its ids.
    const statted = spec.fromContext ? undefined : await loadHostNames();
    for (const source of spec.sources) {
      spec.signal?.throwIfAborted();
      if (isHttpUrl(source)) infos.push(await remoteSource(spec, source, downloads));
      else infos.push(...(await localSources(spec, source, statted)));
    }
    if (!infos.length) throw new Fault('invalid-argument', 'no source files were specified');
  } catch (err) {
    // moby prefixes every failure to find the sources with "<COPY|ADD> failed: ".
    if (isFault(err)) throw new Fault(err.kind, `${spec.keyword} failed: ${err.message}`, { cause: err, code: err.code });
    throw err;
  }
  return infos;
}

async function remoteSource(spec: CopySpec, url: string, downloads: Download[]): Promise<SourceInfo> {
  if (spec.keyword === 'COPY') throw new Fault('invalid-argument', "source can't be a URL for COPY");
  const download = await downloadSource(url, spec.scratchDir, spec.signal);
  downloads.push(download);
  if (!download.name && spec.destination.endsWith('/')) throw new Fault('invalid-argument', `cannot determine filename for source ${url}`);
  const name = download.name || unnamedFilename;
  // moby hashes a download as a file of its own directory, and without the `file:` prefix.
  const hash = await entryHash({ path: download.path, name, st: await lstat(download.path), statted: await loadHostNames() });
  return { path: download.path, origin: name, hash, isDir: false, extract: false };
}

async function localSources(spec: CopySpec, source: string, statted: HostNames | undefined): Promise<SourceInfo[]> {
  const origin = source.replace(/^\//, '').replace(/^\.\//, '');
  if (!hasWildcards(origin)) return [await sourceInfo(spec, origin, statted)];
  const infos: SourceInfo[] = [];
  for (const rel of await walkRoot(spec.from, origin.split('/').length, spec.signal)) {
    if (matchPath(origin, rel)) infos.push(await sourceInfo(spec, rel, statted));
  }
  return infos;
}

/** Every path under `root` (relative, lexical pre-order as Go's WalkDir) down to `depth` elements. */
async function walkRoot(root: string, depth: number, signal?: AbortSignal, prefix = ''): Promise<string[]> {
  signal?.throwIfAborted();
  const out: string[] = [];
  const names = (await readdir(join(root, prefix)).catch(() => [] as string[])).sort();
  for (const name of names) {
    const rel = prefix ? `${prefix}/${name}` : name;
    out.push(rel);
    if (depth > 1 && (await lstat(join(root, rel))).isDirectory()) out.push(...(await walkRoot(root, depth - 1, signal, rel)));
  }
  return out;
}

async function sourceInfo(spec: CopySpec, origin: string, statted: HostNames | undefined): Promise<SourceInfo> {
  const path = await resolveInRoot(spec.from, origin);
  const st = await stat(path).catch(() => undefined);
  if (!st) {
    const missing = `stat ${origin}: file does not exist`;
    throw new Fault('not-found', spec.fromContext ? `file not found in build context or excluded by .dockerignore: ${missing}` : missing);
  }
  const name = relative(spec.from, path);
  if (!st.isDirectory()) {
    const hash = `file:${await entryHash({ path, name, st, statted })}`;
    return { path, origin, hash, isDir: false, extract: spec.keyword === 'ADD' && st.isFile() && (await isTarArchive(path)) };
  }
  const entries = await treeEntries(spec.from, path, spec.signal);
  for (const entry of entries) entry.statted = statted;
  const sums = await mapConcurrent(entries, hashConcurrency, (entry) => contextSum(spec, entry));
  const links = entries.filter((entry) => entry.link !== undefined).map((entry) => `${entry.name}->${entry.link}`);
  return { path, origin, hash: hashList('dir', sums.sort()), links, isDir: true, extract: false };
}

/**
 * An entry's sum in a directory's list as moby's context gives it: a directory the context tar had no header for
 * is its bare path (moby's archiveContext.Hash falls back to it); a symlink counts as what it points to inside
 * the root (the file that is copied in moby's eyes), or as its bare name when that is missing. The link targets
 * themselves go into the cache key separately (SourceInfo.links), so retargeting a link still misses the cache.
 */
async function contextSum(spec: CopySpec, entry: HashedEntry): Promise<string> {
  if (spec.contextMembers && entry.st.isDirectory() && !spec.contextMembers.has(entry.name)) return entry.name;
  const root = spec.from;
  if (entry.link === undefined) return entryHash(entry);
  const path = await resolveInRoot(root, entry.name);
  const st = await lstat(path).catch(() => undefined);
  if (!st) return entry.name;
  return entryHash({ path, name: relative(root, path), st, statted: entry.statted });
}

/** The directory `dir` and everything under it (symlinks not followed), named relative to `root`. */
async function treeEntries(root: string, dir: string, signal?: AbortSignal): Promise<HashedEntry[]> {
  signal?.throwIfAborted();
  const name = relative(root, dir);
  // The root itself has no entry (moby's walk skips "."): `COPY . /app` hashes what is in it.
  const entries: HashedEntry[] = name ? [{ path: dir, name, st: await lstat(dir) }] : [];
  const children = await mapConcurrent((await readdir(dir)).sort(), hashConcurrency, async (name): Promise<HashedEntry[]> => {
    const path = join(dir, name);
    const child = await lstat(path);
    if (child.isDirectory()) return treeEntries(root, path, signal);
    return [{ path, name: relative(root, path), st: child, link: child.isSymbolicLink() ? await readlink(path) : undefined }];
  });
  return entries.concat(...children);
}

interface ApplyContext {
  spec: CopySpec;
  /** Normalized: absolute, a trailing `/` kept. */
  destination: string;
  mode?: number;
}

async function applyCopy(root: string, infos: readonly SourceInfo[], context: ApplyContext): Promise<void> {
  const { spec, destination, mode } = context;
  const chown = spec.chown === undefined ? undefined : await resolveChown(root, spec.chown);
  const options: CopyIntoRootOptions = { owner: chown ?? (spec.fromContext ? { uid: 0, gid: 0 } : 'keep'), mode };
  for (const info of infos) {
    spec.signal?.throwIfAborted();
    if (info.isDir) {
      await copyIntoRoot(info.path, root, destination, options);
    } else if (info.extract) {
      const dest = await resolveInRoot(root, destination);
      await makeDirs(dest).catch((err: unknown) => {
        throw new Fault('invalid-argument', `cannot extract ${info.origin} into ${destination}: ${(err as Error).message}`, { cause: err });
      });
      await extractArchive(info.path, dest, { mode, label: destination });
    } else {
      const intoDir = destination.endsWith('/') || (await stat(await resolveInRoot(root, destination)).catch(() => undefined))?.isDirectory();
      await copyIntoRoot(info.path, root, intoDir ? posix.join(destination, posix.basename(info.origin)) : destination, options);
    }
  }
}
