import { createHash, type Hash } from 'node:crypto';

/**
 * TarSum, the layer checksum docker 1.x sent as `X-Docker-Checksum` (moby `pkg/tarsum`): per tar entry, sha256
 * over selected header fields (`name<value>mode<value>…`) then the entry's content; the hex sums sorted; then
 * sha256 over an optional "extra" (docker passes the image json) followed by the sorted sums.
 *
 * Versions: `tarsum` (v0: name mode uid gid size mtime typeflag linkname uname gname devmajor devminor),
 * `tarsum.v1` and `tarsum.dev` (v0 without mtime, then the `SCHILY.xattr.*` PAX records sorted by key). All
 * entries count, duplicates included, as in moby since versioning.
 */
export const tarSumVersions = ['tarsum', 'tarsum.v1', 'tarsum.dev'] as const;
export type TarSumVersion = (typeof tarSumVersions)[number];

/** The header fields TarSum reads, as Go's archive/tar reports them (PAX overrides applied). */
export interface TarSumHeader {
  /** Raw name bytes (the header block's, or a PAX/GNU long name). */
  name: Buffer;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Seconds since the epoch, truncated. */
  mtime: number;
  /** The typeflag character: '0' file, '5' directory, '2' symlink, … */
  typeflag: string;
  linkname: Buffer;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
  /** `SCHILY.xattr.<key>` PAX records, key without the prefix. */
  xattrs: [string, string][];
}

/** The bytes TarSum hashes for one header. */
export function tarSumHeaderBytes(version: TarSumVersion, h: TarSumHeader): Buffer {
  const fields: [string, string | Buffer][] = [
    ['name', h.name],
    ['mode', String(h.mode)],
    ['uid', String(h.uid)],
    ['gid', String(h.gid)],
    ['size', String(h.size)],
    ['mtime', String(h.mtime)],
    ['typeflag', h.typeflag],
    ['linkname', h.linkname],
    ['uname', h.uname],
    ['gname', h.gname],
    ['devmajor', String(h.devmajor)],
    ['devminor', String(h.devminor)],
  ];
  const selected = version === 'tarsum' ? fields : fields.filter(([key]) => key !== 'mtime');
  if (version !== 'tarsum') selected.push(...[...h.xattrs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return Buffer.concat(selected.flatMap(([key, value]) => [Buffer.from(key), typeof value === 'string' ? Buffer.from(value) : value]));
}

/** Accumulates TarSums of every version at once while a tar is read entry by entry. */
export class TarSum {
  readonly #sums = new Map<TarSumVersion, string[]>(tarSumVersions.map((v) => [v, []]));
  #current: Map<TarSumVersion, Hash> | undefined;

  /** Starts an entry (finishing the one before). */
  entry(header: TarSumHeader): void {
    this.#finishEntry();
    this.#current = new Map(tarSumVersions.map((v) => [v, createHash('sha256').update(tarSumHeaderBytes(v, header))]));
  }

  /** Content bytes of the current entry. */
  update(data: Uint8Array): void {
    if (!this.#current) return;
    for (const hash of this.#current.values()) hash.update(data);
  }

  /** `<version>+sha256:<hex>` for each version, `extra` (the image json) hashed before the sorted sums. */
  digest(extra?: string | Buffer): Record<TarSumVersion, string> {
    this.#finishEntry();
    const out = {} as Record<TarSumVersion, string>;
    for (const [version, sums] of this.#sums) {
      const hash = createHash('sha256');
      if (extra !== undefined) hash.update(extra);
      for (const sum of [...sums].sort()) hash.update(sum);
      out[version] = `${version}+sha256:${hash.digest('hex')}`;
    }
    return out;
  }

  #finishEntry(): void {
    if (!this.#current) return;
    for (const [version, hash] of this.#current) this.#sums.get(version)?.push(hash.digest('hex'));
    this.#current = undefined;
  }
}
