import type { DatabaseSync, StatementSync } from 'node:sqlite';
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
import { quotaExceeded } from './quota-exceeded.ts';
import { quotaMigrations } from './quota-migrations.ts';
import { registryMigrations } from './registry-migrations.ts';
import { SqliteQuotaQueries } from './sqlite-quota-queries.ts';
import { applyMigrations, runInTransaction } from './sqlite-database.ts';

export interface SqliteMetadataStoreOptions {
  /** Source of timestamps (created_at, updated_at); defaults to the wall clock. */
  now?: () => Date;
}

/** Every statement, prepared once per store: the manifest-by-tag path is one cached join. */
function prepareStatements(db: DatabaseSync) {
  const sql = (text: string): StatementSync => db.prepare(text);
  return {
    ensureRepository: sql(`INSERT INTO repositories (name, created_at, description) VALUES (?, ?, '')
      ON CONFLICT (name) DO NOTHING`),
    getRepository: sql('SELECT name, created_at, description FROM repositories WHERE name = ?'),
    setDescription: sql(`INSERT INTO repositories (name, created_at, description) VALUES (?, ?, ?)
      ON CONFLICT (name) DO UPDATE SET description = excluded.description`),
    listRepositories: sql('SELECT name FROM repositories WHERE name > ? ORDER BY name'),
    listRepositoriesLimit: sql('SELECT name FROM repositories WHERE name > ? ORDER BY name LIMIT ?'),
    // SQLite's LIKE ignores ASCII case (case_sensitive_like is never set).
    searchRepositories: sql(`SELECT name FROM repositories WHERE name > ? AND name LIKE ? ESCAPE '\\' ORDER BY name`),
    searchRepositoriesLimit: sql(`SELECT name FROM repositories WHERE name > ? AND name LIKE ? ESCAPE '\\' ORDER BY name LIMIT ?`),
    deleteRepositoryTags: sql('DELETE FROM tags WHERE repository = ?'),
    deleteRepositoryChildren: sql('DELETE FROM manifest_children WHERE repository = ?'),
    deleteRepositoryManifests: sql('DELETE FROM manifests WHERE repository = ?'),
    deleteRepositoryLinks: sql('DELETE FROM blob_links WHERE repository = ?'),
    deleteRepositoryUploads: sql('DELETE FROM uploads WHERE repository = ?'),
    deleteRepository: sql('DELETE FROM repositories WHERE name = ?'),

    linkBlob: sql(`INSERT INTO blob_links (repository, digest, size) VALUES (?, ?, ?)
      ON CONFLICT (repository, digest) DO UPDATE SET size = excluded.size`),
    getBlobLink: sql('SELECT digest, size FROM blob_links WHERE repository = ? AND digest = ?'),
    unlinkBlob: sql('DELETE FROM blob_links WHERE repository = ? AND digest = ?'),
    blobLinked: sql('SELECT 1 AS found FROM blob_links WHERE digest = ? LIMIT 1'),
    manifestStored: sql('SELECT 1 AS found FROM manifests WHERE digest = ? LIMIT 1'),

    putManifest: sql(`INSERT INTO manifests (${manifestColumns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (repository, digest) DO UPDATE SET media_type = excluded.media_type, size = excluded.size,
        artifact_type = excluded.artifact_type, subject = excluded.subject, config = excluded.config,
        annotations = excluded.annotations`),
    addChild: sql(`INSERT INTO manifest_children (repository, parent, child) VALUES (?, ?, ?)
      ON CONFLICT (repository, parent, child) DO NOTHING`),
    getManifest: sql(`SELECT ${manifestColumns} FROM manifests WHERE repository = ? AND digest = ?`),
    listManifests: sql(`SELECT ${manifestColumns} FROM manifests WHERE repository = ? ORDER BY created_at DESC, digest`),
    deleteManifestTags: sql('DELETE FROM tags WHERE repository = ? AND digest = ?'),
    deleteManifestChildren: sql('DELETE FROM manifest_children WHERE repository = ? AND parent = ?'),
    deleteManifest: sql('DELETE FROM manifests WHERE repository = ? AND digest = ?'),

    resolveTag: sql('SELECT digest FROM tags WHERE repository = ? AND tag = ?'),
    getTaggedManifest: sql(`SELECT ${taggedManifestQuery} WHERE t.repository = ? AND t.tag = ?`),
    setTag: sql(`INSERT INTO tags (repository, tag, digest, updated_at) VALUES (?, ?, ?, ?)
      ON CONFLICT (repository, tag) DO UPDATE SET digest = excluded.digest, updated_at = excluded.updated_at`),
    listTags: sql('SELECT tag FROM tags WHERE repository = ? AND tag > ? ORDER BY tag'),
    listTagsLimit: sql('SELECT tag FROM tags WHERE repository = ? AND tag > ? ORDER BY tag LIMIT ?'),
    deleteTag: sql('DELETE FROM tags WHERE repository = ? AND tag = ?'),
    tagsOf: sql('SELECT tag FROM tags WHERE repository = ? AND digest = ? ORDER BY tag'),

    referrers: sql(`SELECT media_type, digest, size, artifact_type, annotations FROM manifests
      WHERE repository = ? AND subject = ? ORDER BY created_at, digest`),
    referrersOfType: sql(`SELECT media_type, digest, size, artifact_type, annotations FROM manifests
      WHERE repository = ? AND subject = ? AND artifact_type = ? ORDER BY created_at, digest`),

    createUpload: sql(`INSERT INTO uploads (id, repository, started_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING`),
    getUpload: sql('SELECT id, repository, started_at FROM uploads WHERE id = ?'),
    deleteUpload: sql('DELETE FROM uploads WHERE id = ?'),
    uploadsStartedBefore: sql('SELECT id, repository, started_at FROM uploads WHERE started_at < ? ORDER BY started_at, id'),
  };
}

/**
 * MetadataStore on the shared node:sqlite database (migration scope 'registry'). The database is synchronous,
 * so each method runs to completion without interleaving; multi-row changes are one transaction each.
 */
export class SqliteMetadataStore implements MetadataStore {
  #db: DatabaseSync;
  #now: () => Date;
  #sql: ReturnType<typeof prepareStatements>;
  #quotas: SqliteQuotaQueries;

  constructor(db: DatabaseSync, options: SqliteMetadataStoreOptions = {}) {
    applyMigrations(db, 'registry', registryMigrations);
    applyMigrations(db, 'quota', quotaMigrations);
    this.#db = db;
    this.#now = options.now ?? (() => new Date());
    this.#sql = prepareStatements(db);
    this.#quotas = new SqliteQuotaQueries(db);
  }

  async listRepositories(page?: Page): Promise<string[]> {
    const n = pageSize(page);
    if (n === 0) return [];
    const last = page?.last ?? '';
    const rows = n === undefined ? this.#sql.listRepositories.all(last) : this.#sql.listRepositoriesLimit.all(last, n);
    return rows.map((r) => r.name as string);
  }

  async searchRepositories(query: string, page?: Page): Promise<string[]> {
    const n = pageSize(page);
    // No name holds a NUL, and SQLite's LIKE would end the pattern there.
    if (n === 0 || query.includes('\0')) return [];
    const args = [page?.last ?? '', containsPattern(query)];
    const rows = n === undefined ? this.#sql.searchRepositories.all(...args) : this.#sql.searchRepositoriesLimit.all(...args, n);
    return rows.map((r) => r.name as string);
  }

  async getRepository(name: string): Promise<RepositoryInfo | undefined> {
    const row = this.#sql.getRepository.get(name);
    if (!row) return undefined;
    return { name: row.name as string, createdAt: row.created_at as string, description: row.description as string };
  }

  async ensureRepository(name: string): Promise<void> {
    this.#ensureRepository(name);
  }

  async setRepositoryDescription(name: string, description: string): Promise<void> {
    this.#sql.setDescription.run(name, this.#timestamp(), description);
  }

  async deleteRepository(name: string): Promise<void> {
    const s = this.#sql;
    this.#transaction(() => {
      // Explicit order (tags, children, manifests, …) instead of relying on ON DELETE CASCADE being enabled.
      for (const statement of [
        s.deleteRepositoryTags,
        s.deleteRepositoryChildren,
        s.deleteRepositoryManifests,
        s.deleteRepositoryLinks,
        s.deleteRepositoryUploads,
        s.deleteRepository,
      ]) {
        statement.run(name);
      }
    });
  }

  async linkBlob(repository: string, blob: { digest: string; size: number }, options: QuotaCheck = {}): Promise<void> {
    this.#transaction(() => {
      if (options.quotaNamespace !== undefined) this.#admit(options.quotaNamespace, [blob]);
      this.#ensureRepository(repository);
      this.#sql.linkBlob.run(repository, blob.digest, blob.size);
    });
  }

  async getBlobLink(repository: string, digest: string): Promise<{ digest: string; size: number } | undefined> {
    const row = this.#sql.getBlobLink.get(repository, digest);
    return row ? { digest: row.digest as string, size: row.size as number } : undefined;
  }

  async unlinkBlob(repository: string, digest: string): Promise<boolean> {
    return Number(this.#sql.unlinkBlob.run(repository, digest).changes) > 0;
  }

  /** Linked by a repository, or stored as a manifest (manifests live in the BlobStore too). */
  async isBlobReferenced(digest: string): Promise<boolean> {
    return this.#sql.blobLinked.get(digest) !== undefined || this.#sql.manifestStored.get(digest) !== undefined;
  }

  async putManifest(input: PutManifestInput): Promise<void> {
    const s = this.#sql;
    const now = this.#timestamp();
    this.#transaction(() => {
      if (input.quotaNamespace !== undefined) this.#admit(input.quotaNamespace, [{ digest: input.digest, size: input.size }, ...input.blobs]);
      this.#ensureRepository(input.repository);
      s.putManifest.run(
        input.repository,
        input.digest,
        input.mediaType,
        input.size,
        input.artifactType ?? null,
        input.subject ?? null,
        input.config ?? null,
        annotationsText(input.annotations),
        now,
      );
      for (const blob of input.blobs) s.linkBlob.run(input.repository, blob.digest, blob.size);
      for (const child of input.manifests) {
        // Checked again here: garbage collection may have removed an untagged child since the caller looked.
        if (!input.cached && !s.getManifest.get(input.repository, child)) throw childUnknown(input.repository, child);
        s.addChild.run(input.repository, input.digest, child);
      }
      if (input.tag !== undefined) {
        if (input.tagMayNotMove) refuseTagMove(input.repository, input.tag, s.resolveTag.get(input.repository, input.tag)?.digest as string | undefined, input.digest);
        s.setTag.run(input.repository, input.tag, input.digest, now);
      }
    });
  }

  async getManifest(repository: string, digest: string): Promise<ManifestRecord | undefined> {
    const row = this.#sql.getManifest.get(repository, digest);
    return row ? toManifestRecord(row) : undefined;
  }

  async deleteManifest(repository: string, digest: string): Promise<boolean> {
    const s = this.#sql;
    return this.#transaction(() => {
      s.deleteManifestTags.run(repository, digest);
      s.deleteManifestChildren.run(repository, digest);
      return Number(s.deleteManifest.run(repository, digest).changes) > 0;
    });
  }

  async listManifests(repository: string): Promise<ManifestRecord[]> {
    return this.#sql.listManifests.all(repository).map(toManifestRecord);
  }

  async resolveTag(repository: string, tag: string): Promise<string | undefined> {
    return this.#sql.resolveTag.get(repository, tag)?.digest as string | undefined;
  }

  async getTaggedManifest(repository: string, tag: string): Promise<ManifestRecord | undefined> {
    const row = this.#sql.getTaggedManifest.get(repository, tag);
    return row ? toManifestRecord(row) : undefined;
  }

  async setTag(repository: string, tag: string, digest: string): Promise<void> {
    this.#transaction(() => {
      if (!this.#sql.getManifest.get(repository, digest)) {
        throw new Fault('not-found', `manifest ${digest} not found in repository ${repository}`, {
          code: 'MANIFEST_UNKNOWN',
        });
      }
      this.#sql.setTag.run(repository, tag, digest, this.#timestamp());
    });
  }

  async listTags(repository: string, page?: Page): Promise<string[]> {
    const n = pageSize(page);
    if (n === 0) return [];
    const last = page?.last ?? '';
    const rows =
      n === undefined ? this.#sql.listTags.all(repository, last) : this.#sql.listTagsLimit.all(repository, last, n);
    return rows.map((r) => r.tag as string);
  }

  async deleteTag(repository: string, tag: string): Promise<boolean> {
    return Number(this.#sql.deleteTag.run(repository, tag).changes) > 0;
  }

  async tagsOf(repository: string, digest: string): Promise<string[]> {
    return this.#sql.tagsOf.all(repository, digest).map((r) => r.tag as string);
  }

  async listReferrers(repository: string, subject: string, filter?: { artifactType?: string }): Promise<Descriptor[]> {
    const rows =
      filter?.artifactType === undefined
        ? this.#sql.referrers.all(repository, subject)
        : this.#sql.referrersOfType.all(repository, subject, filter.artifactType);
    return rows.map(toDescriptor);
  }

  async createUpload(session: UploadSession): Promise<void> {
    const result = this.#sql.createUpload.run(session.id, session.repository, session.startedAt);
    if (Number(result.changes) === 0) {
      throw new Fault('already-exists', `upload ${session.id} already exists`, { code: 'BLOB_UPLOAD_INVALID' });
    }
  }

  async getUpload(id: string): Promise<UploadSession | undefined> {
    const row = this.#sql.getUpload.get(id);
    return row ? toUploadSession(row) : undefined;
  }

  async uploadsStartedBefore(cutoff: string): Promise<UploadSession[]> {
    return this.#sql.uploadsStartedBefore.all(cutoff).map(toUploadSession);
  }

  async deleteUpload(id: string): Promise<void> {
    this.#sql.deleteUpload.run(id);
  }

  async setQuota(namespace: string, limit: number): Promise<void> {
    this.#quotas.set(namespace, limit, this.#timestamp());
  }

  async getQuota(namespace: string): Promise<number | undefined> {
    return this.#quotas.get(namespace);
  }

  async deleteQuota(namespace: string): Promise<boolean> {
    return this.#quotas.delete(namespace);
  }

  async listQuotas(): Promise<NamespaceQuota[]> {
    return this.#quotas.list();
  }

  async namespaceUsage(namespace: string): Promise<number> {
    return this.#quotas.usage(namespace);
  }


  /** The database is shared and owned by the composition root, which closes it; nothing to release here. */
  async close(): Promise<void> {}

  /** Throws the quota refusal when the blobs do not fit; call inside the transaction that links them. */
  #admit(namespace: string, blobs: readonly { digest: string; size: number }[]): void {
    const shortfall = this.#quotas.shortfall(namespace, blobs);
    if (shortfall) throw quotaExceeded(shortfall);
  }

  #ensureRepository(name: string): void {
    this.#sql.ensureRepository.run(name, this.#timestamp());
  }

  /** Joins a transaction the caller already holds on the shared database (e.g. v1 writes spanning stores). */
  #transaction<T>(work: () => T): T {
    return this.#db.isTransaction ? work() : runInTransaction(this.#db, work);
  }

  #timestamp(): string {
    return this.#now().toISOString();
  }
}
