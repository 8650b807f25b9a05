import type { Writable } from 'node:stream';
import type { Config } from '../../base/config.ts';
import { Fault, isFault } from '../../base/fault.ts';
import type { Logger } from '../../base/log.ts';
import type { ManifestRecord } from '../../meta/metadata-store.ts';
import type { MirrorStore } from '../../meta/mirror-store.ts';
import { digestOf, parseDigest } from '../../oci/digest.ts';
import { isTag, parseManifestReference, validateRepositoryName } from '../../oci/reference.ts';
import type { BlobInfo, ByteRange } from '../../store/blob-store.ts';
import type { RegistryService } from '../registry-service.ts';
import type { BlobFetches, FetchSource } from './blob-fetches.ts';
import type { MirrorMetrics, MirrorRequestKind, MirrorRequestResult } from './mirror-metrics.ts';
import { KeyHolds } from './key-holds.ts';
import { SingleFlight } from '../../base/single-flight.ts';
import type { UpstreamManifest } from './upstream.ts';
import type { Upstreams, UpstreamTarget } from './upstreams.ts';

export interface PullThroughDeps {
  service: RegistryService;
  upstreams: Upstreams;
  fetches: BlobFetches;
  mirror: MirrorStore;
  config: Config;
  logger: Logger;
  metrics?: MirrorMetrics;
  now?: () => Date;
}

/** `copyTo` (a GET) writes the client's bytes of the blob being fetched into the raw response (FollowedBlob). */
export type PulledBlob =
  | { info: BlobInfo; local: true }
  | { info: BlobInfo; local: false; copyTo?: (sink: Writable, signal?: AbortSignal) => Promise<number> };

// A pull is recorded for the expiry policy (days) at most hourly per repository and digest; the map stays bounded.
const useRecordIntervalMs = 3_600_000;
const useRecordCapacity = 50_000;
// A failed re-check holds the tag (served stale, the upstream not asked) this long at most: an unreachable upstream
// would otherwise cost each pull the whole response timeout (30 s by default).
const recheckHoldMaxMs = 30_000;

/**
 * What the v2 handlers call for mirrored repository names: manifests and blobs served from the cache, fetched
 * from the upstream when absent (tags re-checked after `tagTtlSeconds`), and served stale when the upstream fails.
 */
export class PullThrough {
  readonly #deps: PullThroughDeps;
  readonly #now: () => Date;
  readonly #ttlMs: number;
  readonly #flights = new SingleFlight<ManifestRecord>();
  readonly #uses = new KeyHolds({ holdMs: useRecordIntervalMs, capacity: useRecordCapacity });
  readonly #failedChecks: KeyHolds;

  constructor(deps: PullThroughDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? (() => new Date());
    this.#ttlMs = deps.config.registry.proxy.tagTtlSeconds * 1000;
    this.#failedChecks = new KeyHolds({ holdMs: Math.min(this.#ttlMs, recheckHoldMaxMs), capacity: useRecordCapacity });
  }

  isMirrored(repository: string): boolean {
    return this.#deps.upstreams.resolve(repository) !== undefined;
  }

  /** distribution's proxy mode answers every write ErrorCodeUnsupported (405); undefined for names not mirrored. */
  writeRefused(repository: string, method: string): Fault | undefined {
    const target = this.#deps.upstreams.resolve(repository);
    if (!target) return undefined;
    return new Fault('not-implemented', `${method} is not supported: ${repository} is a pull-through cache of ${target.upstream.url}`, {
      code: 'UNSUPPORTED',
      detail: { name: repository, upstream: target.upstream.name },
    });
  }

  async resolveManifest(repository: string, reference: string): Promise<ManifestRecord> {
    const target = this.#target(repository);
    // Not a tag nor a digest: MANIFEST_UNKNOWN from the service, as for any repository; the upstream is not asked.
    if (!reference.includes(':') && !isTag(reference)) return this.#deps.service.resolveManifest(repository, reference);
    const ref = parseManifestReference(reference);
    const local = await this.#localManifest(repository, reference);
    if (ref.digest !== undefined) {
      if (local) return this.#manifestHit(target, local);
      return this.#flight(target, repository, reference, () => this.#fetchByDigest(target, repository, ref.digest));
    }
    if (local && (await this.#fresh(repository, ref.tag))) return this.#manifestHit(target, local);
    if (local && this.#failedChecks.held(`${repository}\0${ref.tag}`, this.#now().getTime())) return this.#manifestStale(target, local);
    return this.#flight(target, repository, reference, () => this.#revalidateTag(target, repository, ref.tag, local));
  }

  /**
   * A blob linked in the repository; stored for another repository (linked, once the upstream says it has it
   * there); or fetched once and streamed while it is stored. HEAD never fetches.
   */
  async blob(repository: string, digest: string, options: { head: boolean; range?: ByteRange }): Promise<PulledBlob> {
    const target = this.#target(repository);
    const { value } = parseDigest(digest);
    const { service } = this.#deps;
    const linked = await this.#linkedBlob(repository, value);
    if (linked) return this.#blobHit(target, linked);
    const stored = await service.blobs.stat(value);
    if (stored) {
      // The store holds every repository's blobs, private pushes too: knowing a digest must not be enough.
      await this.#headUpstreamBlob(target, repository, value);
      await service.linkCachedBlob(repository, stored);
      return this.#blobHit(target, stored);
    }
    if (options.head) return { info: await this.#headUpstreamBlob(target, repository, value), local: false };
    return this.#fetchBlob(target, repository, value, options.range);
  }

  #target(repository: string): UpstreamTarget {
    validateRepositoryName(repository);
    const target = this.#deps.upstreams.resolve(repository);
    if (!target) throw new Fault('internal', `repository ${repository} is not mirrored`);
    return target;
  }

  #flight(target: UpstreamTarget, repository: string, reference: string, call: () => Promise<ManifestRecord>): Promise<ManifestRecord> {
    return this.#flights.run(`${target.upstream.name}\0${repository}\0${reference}`, call);
  }

  async #fresh(repository: string, tag: string): Promise<boolean> {
    const checked = await this.#deps.mirror.tagCheckedAt(repository, tag);
    return checked !== undefined && this.#now().getTime() - checked.getTime() < this.#ttlMs;
  }

  async #fetchByDigest(target: UpstreamTarget, repository: string, digest: string): Promise<ManifestRecord> {
    try {
      return await this.#storeManifest(target, repository, digest, undefined);
    } catch (err) {
      if (isUpstreamFailure(err)) this.#count(target, 'manifest', 'error');
      throw err;
    }
  }

  /** The tag's last check is too old (or it is not cached): HEAD upstream, fetch what it names now if that changed. */
  async #revalidateTag(target: UpstreamTarget, repository: string, tag: string, local: ManifestRecord | undefined): Promise<ManifestRecord> {
    const { upstream, remoteName } = target;
    try {
      const head = await upstream.headManifest(remoteName, tag);
      // The upstream deleted the tag: MANIFEST_UNKNOWN, on purpose unlike distribution's proxy, which serves its
      // local copy on any remote error, 404 included. The stored tag stays (a cache deletes nothing here).
      if (!head) throw manifestUnknown(repository, tag);
      // Storing under the tag records its check with the rows (putCachedManifest).
      if (!local || local.digest !== head.digest) return await this.#storeManifest(target, repository, head.digest, tag);
      await this.#deps.mirror.markTagChecked(repository, tag, this.#now());
      return await this.#manifestHit(target, local);
    } catch (err) {
      if (!isUpstreamFailure(err)) throw err;
      if (!local) {
        this.#count(target, 'manifest', 'error');
        throw err;
      }
      this.#failedChecks.hold(`${repository}\0${tag}`, this.#now().getTime());
      this.#deps.logger.warn({ err, repository, tag, digest: local.digest, upstream: upstream.name }, 'serving stale tag');
      return this.#manifestStale(target, local);
    }
  }

  async #manifestStale(target: UpstreamTarget, local: ManifestRecord): Promise<ManifestRecord> {
    this.#count(target, 'manifest', 'stale');
    await this.#recordUse(local.repository, local.digest);
    return local;
  }

  /** Stores the manifest `digest` (under `tag` when given) from the local bytes when present, else from the upstream. */
  async #storeManifest(target: UpstreamTarget, repository: string, digest: string, tag: string | undefined): Promise<ManifestRecord> {
    const { service } = this.#deps;
    const stored = await this.#localManifest(repository, digest);
    const manifest = stored ? { digest, mediaType: stored.mediaType, body: await service.manifestBody(digest) } : await this.#getUpstreamManifest(target, digest);
    if (!manifest) throw manifestUnknown(repository, digest);
    const record = await this.#putCached(target, repository, tag, manifest, stored !== undefined);
    // putCachedManifest recorded the use: the next record waits a hold from it.
    this.#uses.hold(`${repository}\0${digest}`, this.#now().getTime());
    return record;
  }

  /** What the upstream sent and wharf cannot store (unparsable, an unknown type, too large) is the upstream's failure. */
  async #putCached(target: UpstreamTarget, repository: string, tag: string | undefined, manifest: UpstreamManifest, local: boolean): Promise<ManifestRecord> {
    try {
      return await this.#deps.service.putCachedManifest(repository, tag, manifest);
    } catch (err) {
      if (local || !(isFault(err, 'invalid-argument') || isFault(err, 'too-large'))) throw err;
      const { name } = target.upstream;
      throw new Fault('unavailable', `upstream ${name} sent a manifest wharf cannot use: ${err.message}`, {
        code: 'UPSTREAM_UNAVAILABLE',
        detail: { upstream: name, digest: manifest.digest },
        cause: err,
      });
    }
  }

  async #getUpstreamManifest(target: UpstreamTarget, digest: string): Promise<UpstreamManifest | undefined> {
    const { upstream, remoteName } = target;
    const manifest = await upstream.getManifest(remoteName, digest);
    if (!manifest) return undefined;
    // Upstream verifies too; checked again here because a wrong manifest would be served forever under its digest.
    if (digestOf(manifest.body, parseDigest(digest).algorithm) !== digest || manifest.digest !== digest) {
      throw new Fault('unavailable', `upstream ${upstream.name} sent content that does not match ${digest}`, {
        code: 'UPSTREAM_UNAVAILABLE',
        detail: { upstream: upstream.name, digest },
      });
    }
    this.#deps.metrics?.upstreamBytes(upstream.name, manifest.body.length);
    this.#count(target, 'manifest', 'miss');
    return manifest;
  }

  async #manifestHit(target: UpstreamTarget, record: ManifestRecord): Promise<ManifestRecord> {
    this.#count(target, 'manifest', 'hit');
    await this.#recordUse(record.repository, record.digest);
    return record;
  }

  async #localManifest(repository: string, reference: string): Promise<ManifestRecord | undefined> {
    try {
      return await this.#deps.service.resolveManifest(repository, reference);
    } catch (err) {
      if (isFault(err, 'not-found')) return undefined;
      throw err;
    }
  }

  async #linkedBlob(repository: string, digest: string): Promise<BlobInfo | undefined> {
    try {
      return await this.#deps.service.statBlob(repository, digest);
    } catch (err) {
      if (isFault(err, 'not-found')) return undefined;
      throw err;
    }
  }

  #blobHit(target: UpstreamTarget, info: BlobInfo): PulledBlob {
    this.#count(target, 'blob', 'hit');
    return { info, local: true };
  }

  async #headUpstreamBlob(target: UpstreamTarget, repository: string, digest: string): Promise<BlobInfo> {
    const found = await this.#upstreamCall(target, () => target.upstream.headBlob(target.remoteName, digest));
    if (!found) throw blobUnknown(repository, digest);
    return { digest, size: found.size };
  }

  async #fetchBlob(target: UpstreamTarget, repository: string, digest: string, range: ByteRange | undefined): Promise<PulledBlob> {
    const source = this.#blobSource(target, repository, digest);
    const followed = await this.#upstreamCall(target, () => this.#deps.fetches.follow(digest, source, range));
    this.#count(target, 'blob', 'miss');
    // Linked once committed; the client may be done already, so a failed link is the log's, not the client's. A
    // failed fetch reaches the client through its stream, and BlobFetches logs it.
    followed.stored.then(
      (info) =>
        this.#deps.service
          .linkCachedBlob(repository, info)
          .catch((err: unknown) => this.#deps.logger.warn({ err, repository, digest, upstream: target.upstream.name }, 'fetched blob not linked to its repository')),
      () => undefined,
    );
    return { info: { digest, size: followed.size }, local: false, copyTo: followed.copyTo };
  }

  /**
   * What BlobFetches opens (once per fetch, whoever follows it): the upstream's body. Joining a fetch another
   * upstream or remote name started, it is confirmed instead (HEAD here): only then are that fetch's bytes this
   * repository's, and linked to it.
   */
  #blobSource(target: UpstreamTarget, repository: string, digest: string): FetchSource {
    const { upstream, remoteName } = target;
    return {
      name: upstream.name,
      origin: `${upstream.name}\0${remoteName}`,
      open: async (signal) => {
        const opened = await upstream.openBlob(remoteName, digest, signal);
        if (!opened) throw blobUnknown(repository, digest);
        return opened;
      },
      confirm: async (signal) => {
        if (!(await upstream.headBlob(remoteName, digest, signal))) throw blobUnknown(repository, digest);
      },
    };
  }

  async #upstreamCall<T>(target: UpstreamTarget, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (isUpstreamFailure(err)) this.#count(target, 'blob', 'error');
      throw err;
    }
  }

  /** For the expiry policy only: a failure to record is logged, and the pull is still served. */
  async #recordUse(repository: string, digest: string): Promise<void> {
    const now = this.#now();
    const key = `${repository}\0${digest}`;
    if (this.#uses.held(key, now.getTime())) return;
    this.#uses.hold(key, now.getTime());
    try {
      await this.#deps.mirror.markUsed(repository, digest, now);
    } catch (err) {
      this.#deps.logger.warn({ err, repository, digest }, 'mirror: could not record a pull for expiry');
    }
  }

  #count(target: UpstreamTarget, kind: MirrorRequestKind, result: MirrorRequestResult): void {
    this.#deps.metrics?.request(target.upstream.name, kind, result);
  }
}

function isUpstreamFailure(err: unknown): boolean {
  return isFault(err, 'unavailable') && err.code === 'UPSTREAM_UNAVAILABLE';
}

function manifestUnknown(repository: string, reference: string): Fault {
  return new Fault('not-found', `manifest ${reference} unknown to repository ${repository}`, {
    code: 'MANIFEST_UNKNOWN',
    detail: { name: repository, reference },
  });
}

function blobUnknown(repository: string, digest: string): Fault {
  return new Fault('not-found', `blob ${digest} unknown to repository ${repository}`, { code: 'BLOB_UNKNOWN', detail: { digest } });
}
