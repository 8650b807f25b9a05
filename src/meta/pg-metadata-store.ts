import { Fault } from '../base/fault.ts';
import type {
  Descriptor,
  ManifestRecord,
  MetadataStore,
  NamespaceQuota,
  Page,
  PutManifestInput,
  QuotaCheck,
  RepositoryInfo,
  UploadSession,
} from './metadata-store.ts';
import {
  annotationsText,
  childUnknown,
  containsPattern,
  manifestColumns,
  pageSize,
  refuseTagMove,
  taggedManifestQuery,
  toDescriptor,
  toManifestRecord,
  toUploadSession,
} from './manifest-rows.ts';
import { type PgPool, sqlState } from './pg-pool.ts';
import { PgQuotaQueries } from './pg-quota-queries.ts';
import { quotaExceeded } from './quota-exceeded.ts';

export interface PgMetadataStoreOptions {
  /** Source of timestamps (created_at, updated_at); defaults to the wall clock. */
  now?: () => Date;
}

/**
 * MetadataStore on PostgreSQL (schema from migratePostgres). READ COMMITTED with row locks where SQLite's one
 * writer made races moot: a write into a repository locks its row (so deleteRepository and putManifest
 * serialise, the later one wins whole), setTag and index children lock the manifests they point at (FOR KEY
 * SHARE, which GC's and deleteManifest's row delete waits for).
 */
export class PgMetadataStore implements MetadataStore {
  readonly #pool: PgPool;
  readonly #now: () => Date;
  readonly #quotas: PgQuotaQueries;

  constructor(pool: PgPool, options: PgMetadataStoreOptions = {}) {
    this.#pool = pool;
    this.#now = options.now ?? (() => new Date());
    this.#quotas = new PgQuotaQueries(pool);
  }

  async listRepositories(page?: Page): Promise<string[]> {
    const n = pageSize(page);
    if (n === 0) return [];
    const { rows } = await this.#pool.query(
      `SELECT name FROM repositories WHERE name > $1 ORDER BY name${n === undefined ? '' : ' LIMIT $2'}`,
      n === undefined ? [page?.last ?? ''] : [page?.last ?? '', n],
    );
    return rows.map((r) => r.name as string);
  }

  async searchRepositories(query: string, page?: Page): Promise<string[]> {
    const n = pageSize(page);
    // No name holds a NUL, and PostgreSQL text refuses one.
    if (n === 0 || query.includes('\0')) return [];
    const { rows } = await this.#pool.query(
      `SELECT name FROM repositories WHERE name > $1 AND name ILIKE $2 ESCAPE '\\' ORDER BY name${n === undefined ? '' : ' LIMIT $3'}`,
      n === undefined ? [page?.last ?? '', containsPattern(query)] : [page?.last ?? '', containsPattern(query), n],
    );
    return rows.map((r) => r.name as string);
  }

  async getRepository(name: string): Promise<RepositoryInfo | undefined> {
    const { rows } = await this.#pool.query('SELECT name, created_at, description FROM repositories WHERE name = $1', [name]);
    const row = rows[0];
    return row && { name: row.name as string, createdAt: row.created_at as string, description: row.description as string };
  }

  async ensureRepository(name: string): Promise<void> {
    await this.#pool.query(`INSERT INTO repositories (name, created_at, description) VALUES ($1, $2, '') ON CONFLICT (name) DO NOTHING`, [name, this.#timestamp()]);
  }

  async setRepositoryDescription(name: string, description: string): Promise<void> {
    await this.#pool.query(
      `INSERT INTO repositories (name, created_at, description) VALUES ($1, $2, $3)
       ON CONFLICT (name) DO UPDATE SET description = excluded.description`,
      [name, this.#timestamp(), description],
    );
  }

  async deleteRepository(name: string): Promise<void> {
    await this.#pool.transaction(async () => {
      // The repository row first: writers into it (which lock it, see #lockRepository) finish before or wait.
      await this.#pool.query('SELECT 1 FROM repositories WHERE name = $1 FOR UPDATE', [name]);
      for (const table of ['tags', 'manifest_children', 'manifests', 'blob_links', 'uploads']) {
        await this.#pool.query(`DELETE FROM ${table} WHERE repository = $1`, [name]);
      }
      await this.#pool.query('DELETE FROM repositories WHERE name = $1', [name]);
    });
  }

  async linkBlob(repository: string, blob: { digest: string; size: number }, options: QuotaCheck = {}): Promise<void> {
    await this.#pool.transaction(async () => {
      if (options.quotaNamespace !== undefined) await this.#admit(options.quotaNamespace, [blob]);
      await this.#lockRepository(repository);
      await this.#link(repository, blob);
    });
  }

  async getBlobLink(repository: string, digest: string): Promise<{ digest: string; size: number } | undefined> {
    const { rows } = await this.#pool.query('SELECT digest, size FROM blob_links WHERE repository = $1 AND digest = $2', [repository, digest]);
    return rows[0] && { digest: rows[0].digest as string, size: rows[0].size as number };
  }

  async unlinkBlob(repository: string, digest: string): Promise<boolean> {
    return (await this.#pool.query('DELETE FROM blob_links WHERE repository = $1 AND digest = $2', [repository, digest])).rowCount > 0;
  }

  async isBlobReferenced(digest: string): Promise<boolean> {
    const { rowCount } = await this.#pool.query(
      'SELECT 1 FROM blob_links WHERE digest = $1 UNION ALL SELECT 1 FROM manifests WHERE digest = $1 LIMIT 1',
      [digest],
    );
    return rowCount > 0;
  }

  async putManifest(input: PutManifestInput): Promise<void> {
    const now = this.#timestamp();
    await this.#pool.transaction(async () => {
      if (input.quotaNamespace !== undefined) await this.#admit(input.quotaNamespace, [{ digest: input.digest, size: input.size }, ...input.blobs]);
      await this.#lockRepository(input.repository);
      await this.#pool.query(
        `INSERT INTO manifests (${manifestColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (repository, digest) DO UPDATE SET media_type = excluded.media_type, size = excluded.size,
           artifact_type = excluded.artifact_type, subject = excluded.subject, config = excluded.config,
           annotations = excluded.annotations`,
        [input.repository, input.digest, input.mediaType, input.size, input.artifactType ?? null, input.subject ?? null,
          input.config ?? null, annotationsText(input.annotations), now],
      );
      for (const blob of input.blobs) await this.#link(input.repository, blob);
      for (const child of input.manifests) {
        // Locked, not only looked at: garbage collection may be removing an untagged child right now.
        if (!input.cached && !(await this.#lockManifest(input.repository, child))) throw childUnknown(input.repository, child);
        await this.#pool.query(
          'INSERT INTO manifest_children (repository, parent, child) VALUES ($1, $2, $3) ON CONFLICT (repository, parent, child) DO NOTHING',
          [input.repository, input.digest, child],
        );
      }
      if (input.tag !== undefined) {
        // Under the repository's lock taken above, so a push racing to create the same tag sees this one's.
        if (input.tagMayNotMove) refuseTagMove(input.repository, input.tag, await this.resolveTag(input.repository, input.tag), input.digest);
        await this.#setTag(input.repository, input.tag, input.digest, now);
      }
    });
  }

  async getManifest(repository: string, digest: string): Promise<ManifestRecord | undefined> {
    // Prepared: a manifest GET by digest's whole work in PostgreSQL (docs/benchmarks.md, "Replicas").
    const { rows } = await this.#pool.query(`SELECT ${manifestColumns} FROM manifests WHERE repository = $1 AND digest = $2`, [repository, digest], { name: 'get-manifest' });
    return rows[0] && toManifestRecord(rows[0]);
  }

  async deleteManifest(repository: string, digest: string): Promise<boolean> {
    return this.#pool.transaction(async () => {
      await this.#pool.query('DELETE FROM tags WHERE repository = $1 AND digest = $2', [repository, digest]);
      await this.#pool.query('DELETE FROM manifest_children WHERE repository = $1 AND parent = $2', [repository, digest]);
      return (await this.#pool.query('DELETE FROM manifests WHERE repository = $1 AND digest = $2', [repository, digest])).rowCount > 0;
    });
  }

  async listManifests(repository: string): Promise<ManifestRecord[]> {
    const { rows } = await this.#pool.query(`SELECT ${manifestColumns} FROM manifests WHERE repository = $1 ORDER BY created_at DESC, digest`, [repository]);
    return rows.map(toManifestRecord);
  }

  async resolveTag(repository: string, tag: string): Promise<string | undefined> {
    const { rows } = await this.#pool.query('SELECT digest FROM tags WHERE repository = $1 AND tag = $2', [repository, tag], { name: 'resolve-tag' });
    return rows[0]?.digest as string | undefined;
  }

  async getTaggedManifest(repository: string, tag: string): Promise<ManifestRecord | undefined> {
    // Prepared, one statement: a manifest GET by tag's whole work in PostgreSQL, read in one snapshot.
    const { rows } = await this.#pool.query(`SELECT ${taggedManifestQuery} WHERE t.repository = $1 AND t.tag = $2`, [repository, tag], { name: 'get-tagged-manifest' });
    return rows[0] && toManifestRecord(rows[0]);
  }

  async setTag(repository: string, tag: string, digest: string): Promise<void> {
    await this.#pool.transaction(async () => {
      if (!(await this.#lockManifest(repository, digest))) {
        throw new Fault('not-found', `manifest ${digest} not found in repository ${repository}`, { code: 'MANIFEST_UNKNOWN' });
      }
      await this.#setTag(repository, tag, digest, this.#timestamp());
    });
  }

  async listTags(repository: string, page?: Page): Promise<string[]> {
    const n = pageSize(page);
    if (n === 0) return [];
    const { rows } = await this.#pool.query(
      `SELECT tag FROM tags WHERE repository = $1 AND tag > $2 ORDER BY tag${n === undefined ? '' : ' LIMIT $3'}`,
      n === undefined ? [repository, page?.last ?? ''] : [repository, page?.last ?? '', n],
    );
    return rows.map((r) => r.tag as string);
  }

  async deleteTag(repository: string, tag: string): Promise<boolean> {
    return (await this.#pool.query('DELETE FROM tags WHERE repository = $1 AND tag = $2', [repository, tag])).rowCount > 0;
  }

  async tagsOf(repository: string, digest: string): Promise<string[]> {
    const { rows } = await this.#pool.query('SELECT tag FROM tags WHERE repository = $1 AND digest = $2 ORDER BY tag', [repository, digest]);
    return rows.map((r) => r.tag as string);
  }

  async listReferrers(repository: string, subject: string, filter?: { artifactType?: string }): Promise<Descriptor[]> {
    const byType = filter?.artifactType !== undefined;
    const { rows } = await this.#pool.query(
      `SELECT media_type, digest, size, artifact_type, annotations FROM manifests
       WHERE repository = $1 AND subject = $2${byType ? ' AND artifact_type = $3' : ''} ORDER BY created_at, digest`,
      byType ? [repository, subject, filter.artifactType] : [repository, subject],
    );
    return rows.map(toDescriptor);
  }

  async createUpload(session: UploadSession): Promise<void> {
    const { rowCount } = await this.#pool.query(
      'INSERT INTO uploads (id, repository, started_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING',
      [session.id, session.repository, session.startedAt],
    );
    if (rowCount === 0) throw new Fault('already-exists', `upload ${session.id} already exists`, { code: 'BLOB_UPLOAD_INVALID' });
  }

  async getUpload(id: string): Promise<UploadSession | undefined> {
    const { rows } = await this.#pool.query('SELECT id, repository, started_at FROM uploads WHERE id = $1', [id]);
    return rows[0] && toUploadSession(rows[0]);
  }

  async deleteUpload(id: string): Promise<void> {
    await this.#pool.query('DELETE FROM uploads WHERE id = $1', [id]);
  }

  async uploadsStartedBefore(cutoff: string): Promise<UploadSession[]> {
    const { rows } = await this.#pool.query('SELECT id, repository, started_at FROM uploads WHERE started_at < $1 ORDER BY started_at, id', [cutoff]);
    return rows.map(toUploadSession);
  }

  setQuota(namespace: string, limit: number): Promise<void> {
    return this.#quotas.set(namespace, limit, this.#timestamp());
  }

  getQuota(namespace: string): Promise<number | undefined> {
    return this.#quotas.get(namespace);
  }

  deleteQuota(namespace: string): Promise<boolean> {
    return this.#quotas.delete(namespace);
  }

  listQuotas(): Promise<NamespaceQuota[]> {
    return this.#quotas.list();
  }

  namespaceUsage(namespace: string): Promise<number> {
    return this.#quotas.usage(namespace);
  }

  /** The pool is shared by every store of the backend and closed by its owner (openMeta). */
  async close(): Promise<void> {}

  /**
   * Creates the repository row if needed and locks it until the transaction ends. A no-op update (not DO
   * NOTHING) so the lock is taken also when the row exists; a concurrent deleteRepository then waits, or, when
   * it went first, the insert waits for its commit and makes the row anew.
   */
  async #lockRepository(name: string): Promise<void> {
    await this.#pool.query(
      `INSERT INTO repositories (name, created_at, description) VALUES ($1, $2, '')
       ON CONFLICT (name) DO UPDATE SET name = repositories.name`,
      [name, this.#timestamp()],
    );
  }

  /** Throws the quota refusal when the blobs do not fit; first in the transaction that links them. */
  async #admit(namespace: string, blobs: readonly { digest: string; size: number }[]): Promise<void> {
    const shortfall = await this.#quotas.shortfall(namespace, blobs);
    if (shortfall) throw quotaExceeded(shortfall);
  }

  async #lockManifest(repository: string, digest: string): Promise<boolean> {
    const { rowCount } = await this.#pool.query('SELECT 1 FROM manifests WHERE repository = $1 AND digest = $2 FOR KEY SHARE', [repository, digest]);
    return rowCount > 0;
  }

  async #link(repository: string, blob: { digest: string; size: number }): Promise<void> {
    await this.#pool.query(
      `INSERT INTO blob_links (repository, digest, size) VALUES ($1, $2, $3)
       ON CONFLICT (repository, digest) DO UPDATE SET size = excluded.size`,
      [repository, blob.digest, blob.size],
    );
  }

  async #setTag(repository: string, tag: string, digest: string, now: string): Promise<void> {
    try {
      await this.#pool.query(
        `INSERT INTO tags (repository, tag, digest, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (repository, tag) DO UPDATE SET digest = excluded.digest, updated_at = excluded.updated_at`,
        [repository, tag, digest, now],
      );
    } catch (err) {
      if (sqlState(err) !== '23503') throw err;
      throw new Fault('not-found', `manifest ${digest} not found in repository ${repository}`, { code: 'MANIFEST_UNKNOWN', cause: err });
    }
  }

  #timestamp(): string {
    return this.#now().toISOString();
  }
}
