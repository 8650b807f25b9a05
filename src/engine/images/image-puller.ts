import type { IncomingMessage } from 'node:http';
import { pipeline } from 'node:stream';
import { Fault, isFault } from '../../base/fault.ts';
import type { Logger } from '../../base/log.ts';
import { untilAborted } from '../../base/until-aborted.ts';
import { openBlob, resolveImage, unsupportedMediaTypeCode, type Descriptor, type ResolvedImage } from '../../client/image-resolver.ts';
import { familiarName, familiarReference, repositoryName, type ImageReference } from '../../client/reference.ts';
import type { RegistryAuth, RegistryClient, RegistrySession } from '../../client/registry-client.ts';
import { parseDigest } from '../../oci/digest.ts';
import type { BlobStore } from '../../store/blob-store.ts';
import { chainIds } from './chain-id.ts';
import { parseImageConfig } from './image-config.ts';
import type { BlobLeases } from './blob-leases.ts';
import { storeBytes } from './store-bytes.ts';
import type { ImageRecord, ImageStore, LayerRecord } from './image-store.ts';
import type { LayerUnpacker } from './layer-unpacker.ts';
import { ProgressCounter, progressBar, shortId, type ProgressSink } from './progress.ts';

export interface ImagePullerDeps {
  store: ImageStore;
  blobs: BlobStore;
  unpacker: LayerUnpacker;
  registry: RegistryClient;
  leases: Pick<BlobLeases, 'hold'>;
  logger: Logger;
}

export interface PullOptions {
  auth?: RegistryAuth;
  progress?: ProgressSink;
  signal?: AbortSignal;
}

const downloadConcurrency = 3;

/**
 * docker pull: resolve the manifest (platform narrowed), fetch the config, download missing layer blobs into the
 * BlobStore (3 at a time, verified on commit), unpack them in order into chainID snapshots, record and tag.
 * Progress follows moby's pull_v2 sequence so the CLI renders it as it does for dockerd.
 */
export class ImagePuller {
  #deps: ImagePullerDeps;
  /** digest -> download in progress, so concurrent pulls sharing a layer fetch it once. */
  #downloads = new Map<string, Promise<void>>();

  constructor(deps: ImagePullerDeps) {
    this.#deps = deps;
  }

  /**
   * moby's pull over its endpoint list: a Docker Hub image is tried on each registry mirror in order, then on
   * Docker Hub itself with the same credentials (sent only where a challenge asks for them). Any failure of a
   * mirror (unreachable, 5xx, unknown manifest, refused credentials, a broken layer) passes the pull on to the next
   * endpoint, except a cancelled pull and an image type that no endpoint can make pullable (continueOnError).
   */
  async pull(ref: ImageReference, options: PullOptions = {}): Promise<{ record: ImageRecord; upToDate: boolean }> {
    const { registry, logger } = this.#deps;
    const auth = options.auth ?? {};
    for (const mirror of await registry.mirrorEndpoints(ref.domain)) {
      try {
        return await this.#pullFrom(registry.sessionAt(mirror, ref.path, auth), ref, options);
      } catch (err) {
        if (!continueOnError(err, options.signal)) throw err;
        logger.info({ endpoint: mirror.base.href, err: (err as Error).message }, 'attempting next endpoint for pull after error');
      }
    }
    return this.#pullFrom(registry.session(ref.domain, ref.path, auth), ref, options);
  }

  async #pullFrom(session: RegistrySession, ref: ImageReference, options: PullOptions): Promise<{ record: ImageRecord; upToDate: boolean }> {
    const resolved = await this.#resolve(session, ref, options.signal);
    // Layers already stored are touched early and recorded only after the others arrived: the lease covers that.
    return this.#deps.leases.hold((lease) => {
      lease.add([resolved.configDigest, resolved.manifestDigest, ...resolved.manifest.layers.map((l) => l.digest)]);
      return this.#pullResolved(ref, session, resolved, options);
    });
  }

  async #pullResolved(ref: ImageReference, session: RegistrySession, resolved: ResolvedImage, options: PullOptions): Promise<{ record: ImageRecord; upToDate: boolean }> {
    const { store } = this.#deps;
    const progress = options.progress ?? (() => undefined);
    const id = resolved.configDigest;
    const wasTagged = ref.tag ? store.find(familiarReference(ref))?.id === id : false;
    // moby pull_v2: reference.Path, i.e. `library/busybox` for Hub images, `bb` for localhost:5000/bb.
    progress({ status: `Pulling from ${ref.path}`, id: ref.digest ?? ref.tag });
    const config = parseImageConfig(resolved.config, id);
    const layers = resolved.manifest.layers;
    if (config.rootfs.diff_ids.length !== layers.length) {
      throw new Fault('invalid-argument', `image ${id}: ${layers.length} layers but ${config.rootfs.diff_ids.length} diff_ids`);
    }
    await storeBytes(this.#deps.blobs, resolved.config, id);
    await storeBytes(this.#deps.blobs, resolved.manifestBytes, resolved.manifestDigest);
    const chains = chainIds(config.rootfs.diff_ids);
    const present = await Promise.all(chains.map(async (c) => Boolean(await this.#deps.unpacker.snapshotExists(c))));
    for (const [i, layer] of layers.entries()) {
      progress({ status: present[i] ? 'Already exists' : 'Pulling fs layer', progressDetail: {}, id: shortId(layer.digest) });
    }
    // Downloads run 3 at a time while layers unpack in order as soon as theirs has arrived (moby overlaps too). A
    // layer whose snapshot exists still needs its blob when the store lacks it (the snapshot came from an image
    // with other compression): push and save send blobs, so it is fetched quietly.
    const quiet = () => undefined;
    const downloads = this.#downloadAll(
      session,
      ref.path,
      layers.map((l) => l),
      (i) => (present[i] ? quiet : progress),
      options.signal,
    );
    const unpacked = await this.#deps.unpacker.unpack(
      layers.map((l, i) => ({ blob: l.digest, diffId: config.rootfs.diff_ids[i], ready: downloads[i] })),
      (i, event) => {
        if (present[i]) return;
        const lid = shortId(layers[i].digest);
        if (event.phase === 'extracting') {
          progress({ status: 'Extracting', progressDetail: { current: event.current, total: layers[i].size }, id: lid });
        } else progress({ status: 'Pull complete', progressDetail: {}, id: lid });
      },
    );
    const layerRecords: LayerRecord[] = unpacked.map((u, i) => ({
      blob: layers[i].digest,
      mediaType: layers[i].mediaType,
      diffId: u.diffId,
      chainId: u.chainId,
      size: u.size ?? store.layerSize(u.chainId) ?? layers[i].size,
    }));
    const record: ImageRecord = {
      id,
      layers: layerRecords,
      repoDigests: [`${repositoryName(ref)}@${resolved.repoDigest}`],
      size: layerRecords.reduce((sum, l) => sum + l.size, 0),
      manifest: { digest: resolved.manifestDigest, mediaType: resolved.manifestMediaType },
    };
    store.put(record);
    if (ref.tag) store.tag(ref, id);
    progress({ status: `Digest: ${resolved.repoDigest}` });
    const upToDate = wasTagged;
    progress({ status: `Status: ${upToDate ? 'Image is up to date' : 'Downloaded newer image'} for ${familiarReference(ref)}` });
    return { record: store.get(id) ?? record, upToDate };
  }

  async #resolve(session: RegistrySession, ref: ImageReference, signal?: AbortSignal): Promise<ResolvedImage> {
    try {
      return await resolveImage(session, ref.path, { reference: ref.digest ?? ref.tag ?? 'latest', signal });
    } catch (err) {
      throw pullFault(err, ref);
    }
  }

  /** One promise per layer (resolved at once for layers already present); at most 3 downloads at a time. */
  #downloadAll(
    session: RegistrySession,
    repository: string,
    layers: Descriptor[],
    progressOf: (index: number) => ProgressSink,
    signal?: AbortSignal,
  ): Promise<void>[] {
    let active = 0;
    const waiting: (() => void)[] = [];
    const slot = async () => {
      while (active >= downloadConcurrency) await new Promise<void>((resolve) => waiting.push(resolve));
      active++;
    };
    const release = () => {
      active--;
      waiting.shift()?.();
    };
    const out = layers.map(async (layer, index) => {
      if (await this.#deps.blobs.touch(layer.digest)) {
        progressOf(index)({ status: 'Download complete', progressDetail: {}, id: shortId(layer.digest) });
        return;
      }
      await slot();
      try {
        await this.#download(session, repository, layer, progressOf(index), signal);
      } finally {
        release();
      }
    });
    // A failure surfaces through the unpack that awaits it; keep the others from being unhandled.
    for (const p of out) p.catch(() => undefined);
    return out;
  }

  async #download(
    session: RegistrySession,
    repository: string,
    layer: Descriptor,
    progress: ProgressSink,
    signal?: AbortSignal,
  ): Promise<void> {
    const id = shortId(layer.digest);
    if (!(await this.#deps.blobs.touch(layer.digest))) {
      for (;;) {
        const shared = this.#downloads.get(layer.digest);
        if (!shared) {
          const own = this.#fetchBlob(session, repository, layer, progress, signal);
          this.#downloads.set(layer.digest, own);
          own.finally(() => this.#downloads.delete(layer.digest)).catch(() => undefined);
          await own;
          break;
        }
        // Another pull's download of the layer, perhaps from another registry: waited for under this pull's own
        // signal, and should it fail, this pull downloads the layer itself rather than take that pull's failure.
        await untilAborted(shared.catch(() => undefined), signal);
        if (await this.#deps.blobs.touch(layer.digest)) break;
      }
      progress({ status: 'Verifying Checksum', progressDetail: {}, id });
    }
    progress({ status: 'Download complete', progressDetail: {}, id });
  }

  async #fetchBlob(
    session: RegistrySession,
    repository: string,
    layer: Descriptor,
    progress: ProgressSink,
    signal?: AbortSignal,
  ): Promise<void> {
    const { blobs } = this.#deps;
    const ref = `engine-pull-${parseDigest(layer.digest).hex}`;
    // A download interrupted earlier left bytes behind; start over rather than trust a partial file.
    await blobs.abortIngest(ref);
    const writer = await blobs.ingest(ref);
    let res: IncomingMessage | undefined;
    try {
      res = await openBlob(session, repository, layer.digest, signal);
      const counter = new ProgressCounter((current) =>
        progress({
          status: 'Downloading',
          progressDetail: { current, total: layer.size },
          progress: progressBar(current, layer.size),
          id: shortId(layer.digest),
        }),
      );
      // pipeline owns both streams' errors: a response that dies after the writer stopped reading (the client hung
      // up and the signal aborted the download) must not surface as an uncaught 'aborted' error.
      // Never more than the manifest says: a registry that sends on and on would otherwise fill the disk before
      // the commit's size check could refuse it.
      await writer.write(pipeline(res, counter, () => undefined), { signal, limit: layer.size });
      await writer.commit({ digest: layer.digest, size: layer.size });
    } catch (err) {
      // A writer that stopped reading (the limit, a failed write) leaves the response paused: its connection goes.
      res?.destroy();
      await writer.cancel().catch(() => undefined);
      if (isFault(err, 'too-large')) {
        throw new Fault('too-large', `layer ${layer.digest} from ${session.host}: the registry sent more than the ${layer.size} bytes its manifest gives`, { code: 'SIZE_INVALID' });
      }
      throw err;
    }
  }
}

/** moby's continueOnError for a mirror endpoint. */
function continueOnError(err: unknown, signal: AbortSignal | undefined): boolean {
  return !signal?.aborted && !(isFault(err) && err.code === unsupportedMediaTypeCode);
}

function pullFault(err: unknown, ref: ImageReference): unknown {
  if (!isFault(err)) return err;
  const name = familiarName(repositoryName(ref));
  if (err.kind === 'permission-denied' || err.kind === 'unauthenticated' || (err.kind === 'not-found' && /name unknown/i.test(err.message))) {
    return new Fault(
      err.kind === 'not-found' ? 'not-found' : err.kind,
      `pull access denied for ${name}, repository does not exist or may require 'docker login': ${err.message.replace(/^.* not found: /, '')}`,
      { cause: err },
    );
  }
  if (err.kind === 'not-found' && err.code === 'MANIFEST_UNKNOWN') {
    return new Fault('not-found', `manifest for ${familiarReference(ref)} not found: ${err.message.replace(/^.* not found: /, '')}`, { cause: err });
  }
  return err;
}
