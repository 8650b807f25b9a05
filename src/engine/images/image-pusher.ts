import { pipeline } from 'node:stream';
import { Fault } from '../../base/fault.ts';
import { familiarName, formatReference, repositoryName, type ImageReference } from '../../client/reference.ts';
import type { RegistryAuth, RegistryClient, RegistrySession } from '../../client/registry-client.ts';
import { blobExists, putManifest, uploadBlob } from '../../client/registry-push.ts';
import type { BlobStore } from '../../store/blob-store.ts';
import { imageManifest } from './image-manifest.ts';
import type { ImageRecord, ImageStore } from './image-store.ts';
import { ProgressCounter, progressBar, shortId, type ProgressSink } from './progress.ts';

export interface PushOptions {
  auth?: RegistryAuth;
  progress?: ProgressSink;
  signal?: AbortSignal;
}

/**
 * docker push (moby distribution/push_v2.go, as the CLI renders it): every layer blob and the config go up
 * unless the registry has them (HEAD, then a mount), then the manifest by tag (image-manifest.ts: a pulled image
 * sends back the one it came with). Layers stream from the BlobStore; nothing is buffered.
 */
export class ImagePusher {
  #store: ImageStore;
  #blobs: BlobStore;
  #registry: RegistryClient;

  constructor(deps: { store: ImageStore; blobs: BlobStore; registry: RegistryClient }) {
    this.#store = deps.store;
    this.#blobs = deps.blobs;
    this.#registry = deps.registry;
  }

  /** Pushes `repository` at `tag`, or every local tag of it when `tag` is undefined. */
  async push(repository: ImageReference, tag: string | undefined, options: PushOptions = {}): Promise<void> {
    const progress = options.progress ?? (() => undefined);
    const tags = tag ? [tag] : this.#localTags(repository);
    const images = tags.map((t) => {
      const image = this.#store.find(formatReference({ ...repository, tag: t }));
      if (!image) throw new Fault('not-found', `An image does not exist locally with the tag: ${familiarName(repositoryName(repository))}`);
      return { tag: t, image };
    });
    if (!images.length) throw new Fault('not-found', `An image does not exist locally with the tag: ${familiarName(repositoryName(repository))}`);
    progress({ status: `The push refers to repository [${repositoryName(repository)}]` });
    const session = this.#registry.session(repository.domain, repository.path, options.auth ?? {}, ['push', 'pull']);
    for (const { tag: current, image } of images) {
      const manifest = await imageManifest(this.#blobs, image);
      await this.#pushBlobs(session, repository.path, image, progress, options.signal);
      await putManifest(session, repository.path, current, manifest, options.signal);
      this.#store.put({ ...image, repoDigests: [`${repositoryName(repository)}@${manifest.digest}`] });
      progress({ status: `${current}: digest: ${manifest.digest} size: ${manifest.bytes.length}` });
      progress({ progressDetail: {}, aux: { Tag: current, Digest: manifest.digest, Size: manifest.bytes.length } });
    }
  }

  #localTags(repository: ImageReference): string[] {
    const name = repositoryName(repository);
    const tags = new Set<string>();
    for (const image of this.#store.list()) {
      for (const ref of this.#store.tags(image.id)) if (ref.startsWith(`${name}:`)) tags.add(ref.slice(name.length + 1));
    }
    return [...tags].sort();
  }

  /** Layers in moby's order (top first), each reported by its diffID, then the config without a line of its own. */
  async #pushBlobs(session: RegistrySession, path: string, image: ImageRecord, progress: ProgressSink, signal?: AbortSignal): Promise<void> {
    const layers = [...image.layers].reverse();
    for (const layer of layers) progress({ status: 'Preparing', progressDetail: {}, id: shortId(layer.diffId) });
    for (const layer of layers) {
      const id = shortId(layer.diffId);
      const stat = await this.#blobs.stat(layer.blob);
      if (!stat) {
        throw new Fault('failed-precondition', `layer ${layer.blob} of image ${image.id} is not stored locally (pull the image again to push it)`);
      }
      if (await blobExists(session, path, layer.blob, signal)) {
        progress({ status: 'Layer already exists', progressDetail: {}, id });
        continue;
      }
      const how = await uploadBlob(
        session,
        path,
        {
          digest: layer.blob,
          size: stat.size,
          open: async () => {
            const counter = new ProgressCounter((current) =>
              progress({ status: 'Pushing', progressDetail: { current, total: stat.size }, progress: progressBar(current, stat.size), id }),
            );
            return pipeline(await this.#blobs.read(layer.blob), counter, () => undefined);
          },
        },
        signal,
      );
      progress({ status: how === 'mounted' ? 'Layer already exists' : 'Pushed', progressDetail: {}, id });
    }
    const config = await this.#blobs.stat(image.id);
    if (!config) throw new Fault('failed-precondition', `the config of image ${image.id} is not stored locally`);
    if (!(await blobExists(session, path, image.id, signal))) {
      await uploadBlob(session, path, { digest: image.id, size: config.size, open: () => this.#blobs.read(image.id) }, signal);
    }
  }

}
