/*
 * The checksums moby's classic builder gives COPY/ADD sources (remotecontext's tarsum v1 of each file): a sha256
 * over the entry's tar header fields in tarsum's order (name, mode, uid, gid, size, type, link target, user and
 * group names, device numbers; mtime deliberately left out, so touching a file keeps the cache) followed by its
 * content. A directory is `dir:` + the sha256 of its entries' sums, sorted and comma-joined; several sources are
 * `multi:` + the same over theirs in order. Names are relative to the source root as the docker CLI sends them
 * (a directory with a trailing `/`). For a context, the fields are what the CLI's tar header says: permission bits,
 * no user or group names. For a rootfs (--from) or a download, which moby stats itself, the mode keeps the file
 * type bits (FileInfoHeader's fillGo18FileTypeBits) and the names are the daemon host's for those ids (Go's
 * tar.FileInfoHeader looks them up); checked side by side with dockerd 20.10.
 */
import { createHash } from 'node:crypto';
import { createReadStream, type Stats } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';

/** The tar type flag of what `st` describes. */
export function typeFlag(st: Stats): string {
  if (st.isFile()) return '0';
  if (st.isSymbolicLink()) return '2';
  if (st.isCharacterDevice()) return '3';
  if (st.isBlockDevice()) return '4';
  if (st.isDirectory()) return '5';
  return '6';
}

/** Linux's major and minor numbers of a device number (glibc's gnu_dev_major/minor). */
export function deviceNumbers(rdev: number): [number, number] {
  const dev = BigInt(rdev);
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return [Number(major), Number(minor)];
}

export interface HashedEntry {
  /** The host path to read (not followed when a symlink). */
  path: string;
  /** The name relative to the source root, without a leading `/`. */
  name: string;
  st: Stats;
  /** A symlink's target. */
  link?: string;
  /** For a source moby stats itself (not the CLI's tar): the host's names, and the mode keeps its type bits. */
  statted?: HostNames;
}

/** The host's user and group names by id, as Go's os/user finds them (the first entry of an id wins). */
export interface HostNames {
  users: ReadonlyMap<number, string>;
  groups: ReadonlyMap<number, string>;
}

export async function loadHostNames(): Promise<HostNames> {
  const read = async (file: string) => {
    const names = new Map<number, string>();
    const text = await readFile(file, 'utf8').catch(() => '');
    for (const fields of text.split('\n').map((line) => line.split(':'))) {
      const id = Number(fields[2]);
      if (fields.length >= 3 && fields[2] !== '' && Number.isInteger(id) && !names.has(id)) names.set(id, fields[0]!);
    }
    return names;
  };
  return { users: await read('/etc/passwd'), groups: await read('/etc/group') };
}

/** tarsum v1 of one entry, as hex. Content is streamed through the hash. */
export async function entryHash(entry: HashedEntry): Promise<string> {
  const { st } = entry;
  const device = st.isCharacterDevice() || st.isBlockDevice() ? deviceNumbers(st.rdev) : [0, 0];
  const fields: [string, string | number][] = [
    ['name', st.isDirectory() ? `${entry.name.replace(/\/+$/, '')}/` : entry.name],
    ['mode', entry.statted ? st.mode : st.mode & 0o7777],
    ['uid', st.uid],
    ['gid', st.gid],
    ['size', st.isFile() ? st.size : 0],
    ['typeflag', typeFlag(st)],
    ['linkname', entry.link ?? ''],
    ['uname', entry.statted?.users.get(st.uid) ?? ''],
    ['gname', entry.statted?.groups.get(st.gid) ?? ''],
    ['devmajor', device[0]!],
    ['devminor', device[1]!],
  ];
  const hash = createHash('sha256');
  for (const [key, value] of fields) hash.update(`${key}${value}`);
  if (st.isFile() && st.size > 0) await pipeline(createReadStream(entry.path), hash, { end: false });
  return hash.digest('hex');
}

/** moby's hashStringSlice: `prefix:` + sha256 of the comma-joined list. */
export function hashList(prefix: 'dir' | 'multi', sums: readonly string[]): string {
  return `${prefix}:${createHash('sha256').update(sums.join(',')).digest('hex')}`;
}
