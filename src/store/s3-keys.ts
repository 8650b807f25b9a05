/**
 * Where S3Driver keeps a driver path in its bucket. A path's content is the object `<prefix>/<path>`; what a
 * driver on a filesystem keeps in place lives beside it under one reserved root, never a path the BlobStore
 * makes (those start with `blobs/` or `ingest/`):
 *   <prefix>/_wharf_s3/append/<path>    an appendable file's settled bytes (a completed multipart upload), and
 *                                       the key of the multipart upload that continues it
 *   <prefix>/_wharf_s3/tail/<path>      its bytes after those (less than one part), metadata `offset`
 *   <prefix>/_wharf_s3/removing/<path>  a file removeIfUnusedSince set aside (recoverRemovals puts it back)
 */
export const reservedRoot = '_wharf_s3';

export type HiddenArea = 'append' | 'tail' | 'removing';

export class S3Keys {
  readonly #prefix: string;

  /** `prefix` may be empty; leading and trailing slashes are dropped. */
  constructor(prefix: string) {
    const trimmed = prefix.replace(/^\/+|\/+$/g, '');
    this.#prefix = trimmed === '' ? '' : `${trimmed}/`;
  }

  /** The object holding `path`'s content. */
  key(path: string): string {
    return `${this.#prefix}${path}`;
  }

  hidden(area: HiddenArea, path: string): string {
    return `${this.#prefix}${reservedRoot}/${area}/${path}`;
  }

  /** The listing prefix of the directory `dir` ('' = the root), ending in '/' unless it is the bucket's root. */
  dirPrefix(dir: string, area?: HiddenArea): string {
    const base = area ? `${this.#prefix}${reservedRoot}/${area}/` : this.#prefix;
    return dir === '' ? base : `${base}${dir}/`;
  }

  /** The driver path of an object key listed under `area` (or under the content root). */
  pathOf(key: string, area?: HiddenArea): string {
    const base = area ? `${this.#prefix}${reservedRoot}/${area}/` : this.#prefix;
    return key.slice(base.length);
  }

  /** True for keys of the reserved root, which a listing of the content root leaves out. */
  isReserved(key: string): boolean {
    return key.startsWith(`${this.#prefix}${reservedRoot}/`);
  }
}
