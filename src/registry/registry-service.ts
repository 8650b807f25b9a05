import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Config } from '../base/config.ts';
import { Fault, isFault } from '../base/fault.ts';
import { SingleFlight } from '../base/single-flight.ts';
import type { Logger } from '../base/log.ts';
import { type MetaTransaction, withoutTransaction } from '../meta/meta-transaction.ts';
import type { Descriptor, ManifestRecord, MetadataStore, Page } from '../meta/metadata-store.ts';
import type { MirrorStore } from '../meta/mirror-store.ts';
import { digestOf, parseDigest } from '../oci/digest.ts';
import { type ParsedManifest, parseManifest } from '../oci/manifest.ts';
import { mediaTypes } from '../oci/media-types.ts';
import { isTag, parseManifestReference, validateRepositoryName, validateTag } from '../oci/reference.ts';
import { readBlobBytes } from '../store/blob-bytes.ts';
import type { BlobInfo, BlobStore, BlobWriter, ByteRange } from '../store/blob-store.ts';
import { ManifestCache } from './manifest-cache.ts';
import { namespaceOf } from './quota/namespace-of.ts';
import { ImmutableTags } from './retention/immutable-tags.ts';
import { UploadWriters } from './upload-writers.ts';

export interface RegistryServiceDeps {
  blobs: BlobStore;
  meta: MetadataStore;
  config: Config;
  logger: Logger;
  newId?: () => string;
  now?: () => Date;
  /** Another replica may continue an upload (PostgreSQL): no writer stays open between requests. */
  sharedUploads?: boolean;
  /** A pull-through cache's rows (registry.proxy): putCachedManifest records each manifest's use there. */
  mirror?: MirrorStore;
  /** The backend's transaction, so a cached manifest's rows and its use row commit together. */
  transaction?: MetaTransaction;
}

export interface StoredManifest {
  digest: string;
  mediaType: string;
  size: number;
  body: Buffer;
}

export interface PutManifestResult {
  digest: string;
  mediaType: string;
  subject?: string;
}

/** A manifest as an upstream registry sent it, already verified against its digest (src/registry/mirror/upstream.ts). */
export interface CachedManifest {
  digest: string;
  mediaType: string;
  body: Buffer;
}

/** A manifest checked and its bytes stored; `writeRows` writes its rows (once) and answers as putManifest does. */
export interface PreparedManifest {
  writeRows(): Promise<PutManifestResult>;
}

/** The inclusive byte span a chunk claims (`Content-Range: <start>-<end>`). */
export interface ChunkRange {
  start: number;
  end: number;
}

export interface ReferrersIndex {
  schemaVersion: 2;
  mediaType: typeof mediaTypes.ociIndex;
  manifests: Descriptor[];
}

const uploadIdPattern = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * The registry's push and pull operations, protocol-neutral: v2 and v1 handlers both call it. Validates every
 * name, reference and digest before touching a store, and throws Faults whose codes are distribution-spec codes.
 */
export class RegistryService {
  readonly #blobs: BlobStore;
  readonly #meta: MetadataStore;
  readonly #config: Config;
  readonly #newId: () => string;
  readonly #now: () => Date;
  readonly #manifests = new ManifestCache();
  /** Reads of manifestBody under way, by digest: a burst of misses of one digest makes one read. */
  readonly #manifestReads = new SingleFlight<Buffer>();
  readonly #writers: UploadWriters;
  readonly #immutable: ImmutableTags;
  readonly #mirror: MirrorStore | undefined;
  readonly #transaction: MetaTransaction;

  constructor(deps: RegistryServiceDeps) {
    this.#blobs = deps.blobs;
    this.#meta = deps.meta;
    this.#config = deps.config;
    this.#newId = deps.newId ?? randomUUID;
    this.#now = deps.now ?? (() => new Date());
    this.#writers = new UploadWriters({ blobs: deps.blobs, logger: deps.logger, releaseAfterUse: deps.sharedUploads });
    this.#immutable = new ImmutableTags(deps.config.registry.immutableTags);
    this.#mirror = deps.mirror;
    this.#transaction = deps.transaction ?? withoutTransaction;
  }

  get blobs(): BlobStore {
    return this.#blobs;
  }

  get meta(): MetadataStore {
    return this.#meta;
  }

  get maxManifestBytes(): number {
    return this.#config.registry.maxManifestBytes;
  }

  // ---- blobs

  /** The blob as `repository` may serve it: linked there and present in the store, else BLOB_UNKNOWN. */
  async statBlob(repository: string, digest: string): Promise<BlobInfo> {
    validateRepositoryName(repository);
    const { value } = parseDigest(digest);
    const link = await this.#meta.getBlobLink(repository, value);
    const info = link ? await this.#blobs.stat(value) : undefined;
    if (!info) throw blobUnknown(repository, value);
    return info;
  }

  async readBlob(repository: string, digest: string, range?: ByteRange): Promise<{ info: BlobInfo; stream: Readable }> {
    const info = await this.statBlob(repository, digest);
    return { info, stream: await this.#blobs.read(info.digest, range) };
  }

  /**
   * Unlinks the blob from the repository. The bytes stay: other repositories, the legacy index and the engine
   * share the store, and only garbage collection knows when nothing needs them.
   */
  async deleteBlob(repository: string, digest: string): Promise<void> {
    const info = await this.statBlob(repository, digest);
    await this.#meta.unlinkBlob(repository, info.digest);
  }

  // ---- uploads

  /**
   * Abandoned uploads (distribution's upload purging): sessions started before `cutoff` lose their bytes and
   * their row; ingests last written before it that no session names (an interrupted monolithic upload, an engine
   * pull that died with its process) are dropped too.
   */
  async purgeUploads(cutoff: Date): Promise<{ sessions: number; ingests: number }> {
    const stale = await this.#meta.uploadsStartedBefore(cutoff.toISOString());
    for (const session of stale) {
      if (!(await this.#writers.cancel(session.id))) await this.#blobs.abortIngest(session.id);
      await this.#meta.deleteUpload(session.id);
    }
    let ingests = 0;
    for await (const ingest of this.#blobs.listIngests()) {
      if (ingest.updatedAt >= cutoff || (await this.#meta.getUpload(ingest.ref))) continue;
      if (!(await this.#writers.cancel(ingest.ref))) await this.#blobs.abortIngest(ingest.ref);
      ingests++;
    }
    return { sessions: stale.length, ingests };
  }

  /** Opens an upload session. The ingest itself is created by the first bytes. */
  async startUpload(repository: string): Promise<{ id: string }> {
    validateRepositoryName(repository);
    const id = this.#newId();
    await this.#meta.createUpload({ id, repository, startedAt: this.#now().toISOString() });
    return { id };
  }

  async uploadStatus(repository: string, id: string): Promise<{ offset: number }> {
    await this.#session(repository, id);
    const open = this.#writers.offset(id);
    if (open !== undefined) return { offset: open };
    return (await this.#blobs.ingestStatus(id)) ?? { offset: 0 };
  }

  /**
   * Appends a chunk. distribution-spec: a chunk that does not start at the current offset answers 416 and
   * leaves the upload as it was; without a range the body is a streamed append.
   */
  async appendUpload(
    repository: string,
    id: string,
    body: AsyncIterable<Uint8Array> | Readable,
    options: { range?: ChunkRange; signal?: AbortSignal } = {},
  ): Promise<{ offset: number }> {
    await this.#session(repository, id);
    return this.#writers.use(id, async (writer, done) => {
      try {
        return { offset: await writeChunk(writer, body, options.range, options.signal) };
      } catch (err) {
        await this.#dropIfFull(err, { id, writer, done });
        throw err;
      }
    });
  }

  /**
   * A full disk drops the whole upload (bytes first, then the session row, which may need the space): keeping
   * what it holds would keep the disk full, and a client restarts an upload it can no longer find.
   */
  async #dropIfFull(err: unknown, { id, writer, done }: { id: string; writer: BlobWriter; done: () => void }): Promise<void> {
    if (!isFault(err, 'storage-full')) return;
    done();
    await writer.cancel().catch(() => undefined);
    await this.#meta.deleteUpload(id).catch(() => undefined);
  }

  /**
   * Closes the session: appends the optional last chunk, verifies the digest and publishes the blob. On a
   * digest or size mismatch the upload is dropped, as distribution does.
   */
  async finishUpload(
    repository: string,
    id: string,
    digest: string,
    body?: AsyncIterable<Uint8Array> | Readable,
    options: { range?: ChunkRange; signal?: AbortSignal } = {},
  ): Promise<BlobInfo> {
    const expected = parseDigest(digest).value;
    await this.#session(repository, id);
    const info = await this.#writers.use(id, async (writer, done) => {
      if (body) {
        await writeChunk(writer, body, options.range, options.signal).catch(async (err: unknown) => {
          await this.#dropIfFull(err, { id, writer, done });
          throw err;
        });
      }
      try {
        const committed = await writer.commit({ digest: expected });
        done();
        return committed;
      } catch (err) {
        // A failed commit may have released the writer: forget it, the next request reopens the ingest. On a
        // mismatch the store has dropped the ingest, and the session goes with it.
        done();
        await writer.close().catch(() => undefined);
        if (isFault(err, 'invalid-argument')) await this.#meta.deleteUpload(id);
        if (isFault(err, 'storage-full')) await this.#blobs.abortIngest(id).then(() => this.#meta.deleteUpload(id)).catch(() => undefined);
        throw err;
      }
    });
    // Over quota the session ends and the blob stays unlinked: garbage collection frees it after its grace period.
    await this.#meta.linkBlob(repository, info, { quotaNamespace: namespaceOf(repository) }).catch(async (err: unknown) => {
      await this.#meta.deleteUpload(id);
      throw err;
    });
    await this.#meta.deleteUpload(id);
    return info;
  }

  async cancelUpload(repository: string, id: string): Promise<void> {
    await this.#session(repository, id);
    if (!(await this.#writers.cancel(id))) await this.#blobs.abortIngest(id);
    await this.#meta.deleteUpload(id);
  }

  /** Single-request upload (POST `?digest=`): nothing to resume, so any failure drops the bytes. */
  async uploadMonolithic(repository: string, digest: string, body: AsyncIterable<Uint8Array> | Readable, signal?: AbortSignal): Promise<BlobInfo> {
    validateRepositoryName(repository);
    const expected = parseDigest(digest).value;
    const writer = await this.#blobs.ingest(`mono-${this.#newId()}`);
    let info: BlobInfo;
    try {
      await writer.write(body, { signal });
      info = await writer.commit({ digest: expected });
    } catch (err) {
      await writer.cancel().catch(() => undefined);
      throw err;
    }
    await this.#meta.linkBlob(repository, info, { quotaNamespace: namespaceOf(repository) });
    return info;
  }

  /**
   * Cross-repository mount. Without `from`, OCI 1.1 lets the registry mount any blob some repository links;
   * undefined means the caller should fall back to an upload session.
   */
  async mountBlob(repository: string, digest: string, from?: string): Promise<BlobInfo | undefined> {
    validateRepositoryName(repository);
    const { value } = parseDigest(digest);
    if (from !== undefined) {
      validateRepositoryName(from);
      if (!(await this.#meta.getBlobLink(from, value))) return undefined;
    } else if (!(await this.#meta.isBlobReferenced(value))) {
      return undefined;
    }
    // A touch, not a stat: the new link is a use garbage collection must see (see docs/architecture.md, gc).
    const info = await this.#blobs.touch(value);
    if (!info) return undefined;
    await this.#meta.linkBlob(repository, info, { quotaNamespace: namespaceOf(repository) });
    return info;
  }

  async #session(repository: string, id: string) {
    validateRepositoryName(repository);
    const session = uploadIdPattern.test(id) ? await this.#meta.getUpload(id) : undefined;
    if (!session || session.repository !== repository) {
      throw new Fault('not-found', `upload ${id.slice(0, 128)} unknown to repository ${repository}`, {
        code: 'BLOB_UPLOAD_UNKNOWN',
        detail: { uuid: id.slice(0, 128) },
      });
    }
    return session;
  }

  // ---- manifests

  /**
   * Validates and stores a manifest under a tag or its digest. Checks run before anything is written: size,
   * reference, digest agreement, schema, then every referenced blob and child manifest (MANIFEST_BLOB_UNKNOWN).
   * The bytes become a blob first, then the rows (manifest, links, subject, tag) land in one transaction.
   */
  async putManifest(repository: string, reference: string, body: Buffer, contentType?: string): Promise<PutManifestResult> {
    return (await this.prepareManifest(repository, reference, body, contentType)).writeRows();
  }

  /**
   * putManifest in two steps, for a caller that writes rows of its own in the same transaction (v1's tag write):
   * the checks and the bytes now, the rows when `writeRows` is called (inside the caller's transaction).
   */
  async prepareManifest(repository: string, reference: string, body: Buffer, contentType?: string): Promise<PreparedManifest> {
    validateRepositoryName(repository);
    const ref = parseManifestReference(reference);
    const max = this.maxManifestBytes;
    if (body.length > max) {
      throw new Fault('too-large', `manifest is ${body.length} bytes, the limit is ${max}`, { code: 'SIZE_INVALID', detail: { limit: max } });
    }
    const digest = ref.digest ? digestOf(body, parseDigest(ref.digest).algorithm) : digestOf(body);
    if (ref.digest && digest !== ref.digest) {
      throw new Fault('invalid-argument', `manifest digest ${digest} does not match reference ${ref.digest}`, {
        code: 'DIGEST_INVALID',
        detail: { expected: ref.digest, actual: digest },
      });
    }
    const manifest = parseManifest(body, contentType);
    await this.#checkReferences(repository, manifest);
    // Checked here for the rule's wording, and again by the store inside the write's transaction for a push
    // racing this one to create the tag.
    const immutable = ref.tag !== undefined && this.#immutable.ruleFor(repository, ref.tag) !== undefined;
    if (ref.tag !== undefined && immutable) {
      this.#immutable.checkPut(repository, ref.tag, await this.#meta.resolveTag(repository, ref.tag), digest);
    }
    await this.storeBytes(digest, body);
    return { writeRows: () => this.#writeManifestRows(repository, ref.tag, digest, body, manifest, immutable) };
  }

  async #writeManifestRows(
    repository: string,
    tag: string | undefined,
    digest: string,
    body: Buffer,
    manifest: ParsedManifest,
    tagMayNotMove: boolean,
  ): Promise<PutManifestResult> {
    await this.#meta.putManifest({
      repository,
      digest,
      mediaType: manifest.mediaType,
      size: body.length,
      artifactType: manifest.artifactType,
      subject: manifest.subject?.digest,
      annotations: manifest.annotations,
      config: manifest.config?.digest,
      blobs: manifest.blobs.map((b) => ({ digest: b.digest, size: b.size })),
      manifests: manifest.manifests.map((m) => m.digest),
      tag,
      tagMayNotMove,
      // The layers and config were admitted when they were linked; what is new is mostly the manifest's bytes.
      // Refused, those bytes stay an unreferenced blob that garbage collection frees after its grace period.
      quotaNamespace: namespaceOf(repository),
    });
    this.#manifests.set(digest, body);
    return { digest, mediaType: manifest.mediaType, subject: manifest.subject?.digest };
  }

  async #checkReferences(repository: string, manifest: ParsedManifest): Promise<void> {
    for (const blob of manifest.blobs) {
      const link = await this.#meta.getBlobLink(repository, blob.digest);
      // Touched: the manifest about to be written is a new use of the blob (gc's rule, docs/architecture.md).
      const info = link ? await this.#blobs.touch(blob.digest) : undefined;
      if (!info) {
        throw new Fault('invalid-argument', `manifest references blob ${blob.digest} unknown to ${repository}`, {
          code: 'MANIFEST_BLOB_UNKNOWN',
          detail: { digest: blob.digest },
        });
      }
      if (info.size !== blob.size) {
        throw new Fault('invalid-argument', `blob ${blob.digest} is ${info.size} bytes, the manifest says ${blob.size}`, {
          code: 'MANIFEST_INVALID',
          detail: { digest: blob.digest, size: info.size },
        });
      }
    }
    for (const child of manifest.manifests) {
      if (!(await this.#meta.getManifest(repository, child.digest))) {
        throw new Fault('invalid-argument', `index references manifest ${child.digest} unknown to ${repository}`, {
          code: 'MANIFEST_BLOB_UNKNOWN',
          detail: { digest: child.digest },
        });
      }
    }
  }

  // ---- pull-through cache (registry.proxy)

  /**
   * Stores a manifest fetched from an upstream, under `tag` when given. Unlike a push: no reference checks (its
   * blobs and children arrive later, on demand), no immutable-tag or quota admission (a cache mirrors its
   * upstream; what it holds is bounded by expiry), no blob links (linkCachedBlob links each blob once stored).
   * The bytes are stored first, then the rows, the tag, its check and the manifest's use in one transaction.
   */
  async putCachedManifest(repository: string, tag: string | undefined, manifest: CachedManifest): Promise<ManifestRecord> {
    validateRepositoryName(repository);
    if (tag !== undefined) validateTag(tag);
    const max = this.maxManifestBytes;
    // Garbage collection reads every manifest body it marks from: none bigger than a push may be.
    if (manifest.body.length > max) {
      throw new Fault('too-large', `manifest is ${manifest.body.length} bytes, the limit is ${max}`, { code: 'SIZE_INVALID', detail: { limit: max } });
    }
    const { value: digest, algorithm } = parseDigest(manifest.digest);
    const actual = digestOf(manifest.body, algorithm);
    if (actual !== digest) {
      throw new Fault('invalid-argument', `manifest digest ${actual} does not match ${digest}`, { code: 'DIGEST_INVALID', detail: { expected: digest, actual } });
    }
    const parsed = parseManifest(manifest.body, manifest.mediaType);
    await this.storeBytes(digest, manifest.body);
    const now = this.#now();
    const record = await this.#transaction(async () => {
      await this.#meta.putManifest({
        repository,
        digest,
        mediaType: parsed.mediaType,
        size: manifest.body.length,
        artifactType: parsed.artifactType,
        subject: parsed.subject?.digest,
        annotations: parsed.annotations,
        config: parsed.config?.digest,
        blobs: [],
        manifests: parsed.manifests.map((m) => m.digest),
        tag,
        cached: true,
      });
      await this.#mirror?.markCached(repository, digest, now);
      if (tag !== undefined) await this.#mirror?.markTagChecked(repository, tag, now);
      return this.#meta.getManifest(repository, digest);
    });
    if (!record) throw new Fault('internal', `cached manifest ${digest} of ${repository} was not written`);
    this.#manifests.set(digest, manifest.body);
    return record;
  }

  /**
   * Links a blob the cache has stored to the repository, without quota admission (see putCachedManifest). Touched
   * first, as every new reference to a stored blob is (docs/architecture.md, gc); BLOB_UNKNOWN when not stored.
   */
  async linkCachedBlob(repository: string, info: BlobInfo): Promise<void> {
    validateRepositoryName(repository);
    const { value } = parseDigest(info.digest);
    const stored = await this.#blobs.touch(value);
    if (!stored) throw blobUnknown(repository, value);
    await this.#meta.linkBlob(repository, { digest: value, size: stored.size });
  }

  /**
   * Links a blob already in the store (an image the co-located engine built) to the repository, with quota
   * admission as a mount has: touched first (docs/architecture.md, gc); BLOB_UNKNOWN when not stored.
   */
  async linkStoredBlob(repository: string, digest: string): Promise<BlobInfo> {
    validateRepositoryName(repository);
    const { value } = parseDigest(digest);
    const info = await this.#blobs.touch(value);
    if (!info) throw blobUnknown(repository, value);
    await this.#meta.linkBlob(repository, info, { quotaNamespace: namespaceOf(repository) });
    return info;
  }

  /** Stores small content known whole (manifests, bridged configs) under its digest, verified like any upload. */
  async storeBytes(digest: string, body: Buffer): Promise<void> {
    if (await this.#blobs.touch(digest)) return;
    const writer = await this.#blobs.ingest(`bytes-${this.#newId()}`);
    try {
      await writer.write(Readable.from([body]));
      await writer.commit({ digest, size: body.length });
    } catch (err) {
      await writer.cancel().catch(() => undefined);
      throw err;
    }
  }

  /** The manifest a tag or digest names in the repository, else MANIFEST_UNKNOWN. */
  async resolveManifest(repository: string, reference: string): Promise<ManifestRecord> {
    validateRepositoryName(repository);
    // Nothing can be stored under a tag that is not one: the OCI conformance suite expects it unknown, not invalid.
    if (!reference.includes(':') && !isTag(reference)) throw manifestUnknown(repository, reference);
    const ref = parseManifestReference(reference);
    // By tag one read, not tag -> digest then the row: a round trip fewer on PostgreSQL, and one snapshot.
    const record = ref.digest !== undefined
      ? await this.#meta.getManifest(repository, ref.digest)
      : await this.#meta.getTaggedManifest(repository, ref.tag);
    if (!record) throw manifestUnknown(repository, reference);
    return record;
  }

  async getManifest(repository: string, reference: string): Promise<StoredManifest> {
    const record = await this.resolveManifest(repository, reference);
    return { digest: record.digest, mediaType: record.mediaType, size: record.size, body: await this.manifestBody(record.digest) };
  }

  /**
   * Bytes of a small stored blob (manifest, config), from an LRU that never goes stale (content-addressed);
   * concurrent misses of one digest share one read.
   */
  manifestBody(digest: string): Promise<Buffer> {
    const cached = this.#manifests.get(digest);
    if (cached) return Promise.resolve(cached);
    return this.#manifestReads.run(digest, () =>
      readBlobBytes(this.#blobs, digest).then((body) => {
        this.#manifests.set(digest, body);
        return body;
      }),
    );
  }

  /** By digest: the manifest and every tag on it. By tag: only the tag. */
  async deleteManifest(repository: string, reference: string): Promise<void> {
    validateRepositoryName(repository);
    const ref = parseManifestReference(reference);
    if (this.#immutable.active) await this.#checkDeletable(repository, ref);
    const deleted = ref.tag !== undefined ? await this.#meta.deleteTag(repository, ref.tag) : await this.#meta.deleteManifest(repository, ref.digest);
    if (!deleted) throw manifestUnknown(repository, reference);
  }

  /** registry.immutableTags: a tag deleted by name, or the tags a manifest deleted by digest takes with it. */
  async #checkDeletable(repository: string, ref: { tag?: string; digest?: string }): Promise<void> {
    if (ref.tag !== undefined) {
      if (await this.#meta.resolveTag(repository, ref.tag)) this.#immutable.checkDelete(repository, [ref.tag]);
    } else if (ref.digest !== undefined) {
      this.#immutable.checkDelete(repository, await this.#meta.tagsOf(repository, ref.digest));
    }
  }

  /** Sorted tags; NAME_UNKNOWN when the repository does not exist. */
  async listTags(repository: string, page: Page): Promise<string[]> {
    validateRepositoryName(repository);
    const tags = await this.#meta.listTags(repository, page);
    if (tags.length === 0 && !(await this.#meta.getRepository(repository))) {
      throw new Fault('not-found', `repository ${repository} not known to registry`, { code: 'NAME_UNKNOWN', detail: { name: repository } });
    }
    return tags;
  }

  listRepositories(page: Page): Promise<string[]> {
    return this.#meta.listRepositories(page);
  }

  /** An OCI image index of the manifests whose subject is `digest` (OCI 1.1 referrers API); empty when none. */
  async referrers(repository: string, digest: string, artifactType?: string): Promise<ReferrersIndex> {
    validateRepositoryName(repository);
    const { value } = parseDigest(digest);
    // No stored artifact type holds a NUL (a media type cannot; PostgreSQL text refuses it): nothing matches.
    const manifests = artifactType?.includes('\0') ? [] : await this.#meta.listReferrers(repository, value, artifactType ? { artifactType } : undefined);
    return { schemaVersion: 2, mediaType: mediaTypes.ociIndex, manifests };
  }

  /** Closes open upload writers; their bytes stay for a resume after restart. */
  async close(): Promise<void> {
    await this.#writers.close();
  }
}

/**
 * Writes one chunk at the writer's offset. A range must start at the offset (416 otherwise, nothing written)
 * and its length must match what arrives.
 */
async function writeChunk(writer: BlobWriter, body: AsyncIterable<Uint8Array> | Readable, range: ChunkRange | undefined, signal?: AbortSignal): Promise<number> {
  if (!range) return writer.write(body, { signal });
  if (range.start !== writer.offset) {
    throw new Fault('out-of-range', `chunk starts at ${range.start}, the upload is at ${writer.offset}`, {
      code: 'RANGE_INVALID',
      detail: { offset: writer.offset },
    });
  }
  const length = range.end - range.start + 1;
  const before = writer.offset;
  const offset = await writer.write(body, { signal, limit: length });
  if (offset - before !== length) {
    throw new Fault('invalid-argument', `chunk of ${offset - before} bytes does not fill Content-Range ${range.start}-${range.end}`, {
      code: 'BLOB_UPLOAD_INVALID',
      detail: { offset },
    });
  }
  return offset;
}

function blobUnknown(repository: string, digest: string): Fault {
  return new Fault('not-found', `blob ${digest} unknown to repository ${repository}`, { code: 'BLOB_UNKNOWN', detail: { digest } });
}

function manifestUnknown(repository: string, reference: string): Fault {
  return new Fault('not-found', `manifest ${reference} unknown to repository ${repository}`, {
    code: 'MANIFEST_UNKNOWN',
    detail: { name: repository, reference },
  });
}
