/** Page request for sorted listings (distribution-spec `n` and `last`). */
export interface Page {
  /** Return names strictly after this one (lexical order). */
  last?: string;
  /** At most this many; undefined means all. */
  n?: number;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export interface ManifestRecord {
  repository: string;
  digest: string;
  mediaType: string;
  size: number;
  artifactType?: string;
  /** Digest of the manifest this one refers to (OCI `subject`). */
  subject?: string;
  annotations?: Record<string, string>;
  /** Config digest for image manifests. */
  config?: string;
  createdAt: string;
}

/** With `quotaNamespace`, the manifest's own bytes and its blobs are admitted as QuotaCheck says. */
export interface PutManifestInput extends QuotaCheck {
  repository: string;
  digest: string;
  mediaType: string;
  size: number;
  artifactType?: string;
  subject?: string;
  annotations?: Record<string, string>;
  config?: string;
  /** Blob digests (config, layers) this manifest references; they get linked into the repository. */
  blobs: { digest: string; size: number }[];
  /** Child manifests (index/list entries) this manifest references. */
  manifests: string[];
  /** Tag to point at this manifest, in the same transaction. */
  tag?: string;
  /**
   * The tag may be created, or re-pointed at the manifest it already names, but not moved: checked inside the
   * transaction, so of two pushes racing to create it (through one replica or two) one wins and the other fails
   * whole (DENIED, manifest-rows.ts refuseTagMove). registry.immutableTags sets it.
   */
  tagMayNotMove?: boolean;
  /**
   * A pull-through cache's copy (RegistryService.putCachedManifest): child manifests are recorded whether or not
   * they are stored yet, since a cache fetches them on demand. A push leaves it unset: every child must exist.
   */
  cached?: boolean;
}

export interface UploadSession {
  id: string;
  repository: string;
  startedAt: string;
}

export interface RepositoryInfo {
  name: string;
  createdAt: string;
  /** Free text used by search (v1 index) and the web UI. */
  description: string;
}

/** A namespace's quota and what it uses now (unique blob bytes: layers, configs, manifests), in bytes. */
export interface NamespaceQuota {
  namespace: string;
  limit: number;
  used: number;
}

/**
 * QuotaCheck, the rule behind `linkBlob(…, { quotaNamespace })` and `PutManifestInput.quotaNamespace`: when the
 * namespace has a quota, the digests it does not hold yet (unique, sizes summed) must fit beside its usage
 * (namespaceUsage), else the store writes nothing and throws `quotaExceeded` (quota-exceeded.ts). The check
 * and the write are one transaction that serializes with every other checked write into the namespace, across
 * processes, so concurrent pushes cannot each pass the check and overshoot together. SQLite: BEGIN IMMEDIATE.
 * PostgreSQL: `SELECT limit_bytes FROM quotas WHERE namespace = $1 FOR UPDATE` first in the transaction (READ
 * COMMITTED then reads the usage as the previous holder committed it); no quota row, nothing to lock or check.
 */
export interface QuotaCheck {
  /** The namespace whose quota the write counts against (registry/quota/namespace-of.ts); absent: unchecked. */
  quotaNamespace?: string;
}

/**
 * The registry's truth: repositories, manifests, tags, blob links, referrers, upload sessions. Asynchronous so
 * a PostgreSQL implementation fits the same seam; every multi-row change is one transaction.
 */
export interface MetadataStore {
  listRepositories(page?: Page): Promise<string[]>;
  /**
   * The names holding `query` (a substring, ASCII case-insensitive; `%`, `_` and `\` match only themselves; empty:
   * every name), in byte order after `page.last`, at most `page.n`: the hub's search as you type.
   */
  searchRepositories(query: string, page?: Page): Promise<string[]>;
  getRepository(name: string): Promise<RepositoryInfo | undefined>;
  /** Creates the repository row when absent (idempotent). */
  ensureRepository(name: string): Promise<void>;
  setRepositoryDescription(name: string, description: string): Promise<void>;
  /** Removes the repository with its tags, manifests, links and uploads. */
  deleteRepository(name: string): Promise<void>;

  /**
   * Records that `repository` may serve blob `digest` (pushed, mounted, or referenced by a manifest). With
   * `quotaNamespace`, checks that namespace's quota and links in one transaction (see QuotaCheck).
   */
  linkBlob(repository: string, blob: { digest: string; size: number }, options?: QuotaCheck): Promise<void>;
  /** The linked blob's size, undefined when the repository has no link to it. */
  getBlobLink(repository: string, digest: string): Promise<{ digest: string; size: number } | undefined>;
  unlinkBlob(repository: string, digest: string): Promise<boolean>;
  /** True when any repository links the digest (used for mount without `from` and GC). */
  isBlobReferenced(digest: string): Promise<boolean>;

  /** Writes manifest row, blob links, child links, subject and optional tag in one transaction. */
  putManifest(input: PutManifestInput): Promise<void>;
  getManifest(repository: string, digest: string): Promise<ManifestRecord | undefined>;
  /** Deletes the manifest and every tag pointing at it. Returns false when absent. */
  deleteManifest(repository: string, digest: string): Promise<boolean>;
  /** Manifests of a repository, newest first. */
  listManifests(repository: string): Promise<ManifestRecord[]>;

  resolveTag(repository: string, tag: string): Promise<string | undefined>;
  /**
   * The manifest `tag` names, in one read (a manifest GET by tag: one round trip on PostgreSQL, not resolveTag
   * then getManifest); undefined when the tag is absent or names no stored manifest.
   */
  getTaggedManifest(repository: string, tag: string): Promise<ManifestRecord | undefined>;
  /** Points `tag` at an existing manifest of the repository. */
  setTag(repository: string, tag: string, digest: string): Promise<void>;
  listTags(repository: string, page?: Page): Promise<string[]>;
  /** Removes only the tag. Returns false when absent. */
  deleteTag(repository: string, tag: string): Promise<boolean>;
  tagsOf(repository: string, digest: string): Promise<string[]>;

  /** Manifests in the repository whose subject is `subject`, optionally filtered by artifactType. */
  listReferrers(repository: string, subject: string, filter?: { artifactType?: string }): Promise<Descriptor[]>;

  createUpload(session: UploadSession): Promise<void>;
  getUpload(id: string): Promise<UploadSession | undefined>;
  deleteUpload(id: string): Promise<void>;
  /** Sessions started before `cutoff` (ISO 8601), oldest first: what an upload purge abandons. */
  uploadsStartedBefore(cutoff: string): Promise<UploadSession[]>;

  /** Sets (or replaces) the namespace's quota in bytes. */
  setQuota(namespace: string, limit: number): Promise<void>;
  /** The namespace's quota in bytes, undefined when it has none. */
  getQuota(namespace: string): Promise<number | undefined>;
  deleteQuota(namespace: string): Promise<boolean>;
  /** Every quota with its usage, by namespace. */
  listQuotas(): Promise<NamespaceQuota[]>;
  /** Unique bytes linked or stored as manifests by the repositories `namespace` and `namespace/…`. */
  namespaceUsage(namespace: string): Promise<number>;

  close(): Promise<void>;
}
