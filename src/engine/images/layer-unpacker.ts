import { randomUUID } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { archiveFault } from '../../base/archive-fault.ts';
import { Fault, isFault } from '../../base/fault.ts';
import { Digester } from '../../oci/digest.ts';
import type { BlobStore } from '../../store/blob-store.ts';
import type { Snapshotter } from '../snapshots/snapshotter.ts';
import { decompressStream } from './layer-compression.ts';
import { chainIds } from './chain-id.ts';

export interface UnpackLayer {
  blob: string;
  /** Expected diffID (from the image config); verified when given. */
  diffId?: string;
  /** Resolves when the blob is in the store (a download in progress); the layer waits for it. */
  ready?: Promise<void>;
}

export interface UnpackedLayer {
  diffId: string;
  chainId: string;
  /** Uncompressed tar size; undefined when the snapshot already existed and was reused. */
  size?: number;
}

export type UnpackProgress = (index: number, event: { phase: 'extracting'; current: number } | { phase: 'done' | 'reused' }) => void;

/**
 * Turns a stack of layer blobs into committed snapshots named by chainID: blob -> decompress (sniffed: gzip,
 * zstd, bzip2, xz or plain) -> hash (diffID) -> snapshotter.applyLayer, in one pipeline. A chain already unpacked is
 * reused; concurrent unpacks of the same chainID wait for each other instead of racing on commit.
 */
export class LayerUnpacker {
  #blobs: BlobStore;
  #snapshotter: Snapshotter;
  #inflight = new Map<string, Promise<number | undefined>>();

  constructor(options: { blobs: BlobStore; snapshotter: Snapshotter }) {
    this.#blobs = options.blobs;
    this.#snapshotter = options.snapshotter;
  }

  async snapshotExists(chainId: string): Promise<boolean> {
    return Boolean(await this.#snapshotter.stat(chainId));
  }

  async unpack(layers: readonly UnpackLayer[], onProgress?: UnpackProgress): Promise<UnpackedLayer[]> {
    const out: UnpackedLayer[] = [];
    let parent: string | undefined;
    for (const [index, layer] of layers.entries()) {
      await layer.ready;
      const unpacked = await this.#unpackOne(layer, parent, (current) => onProgress?.(index, { phase: 'extracting', current }));
      onProgress?.(index, { phase: unpacked.size === undefined ? 'reused' : 'done' });
      out.push(unpacked);
      parent = unpacked.chainId;
    }
    return out;
  }

  async #unpackOne(layer: UnpackLayer, parent: string | undefined, progress: (n: number) => void): Promise<UnpackedLayer> {
    if (layer.diffId) {
      const chainId = chainOf(parent, layer.diffId);
      const pending = this.#inflight.get(chainId);
      if (pending) return { diffId: layer.diffId, chainId, size: await pending };
      if (await this.#snapshotter.stat(chainId)) return { diffId: layer.diffId, chainId };
      const work = this.#apply(layer, parent, progress).then((r) => r.size);
      this.#inflight.set(chainId, work);
      try {
        return { diffId: layer.diffId, chainId, size: await work };
      } finally {
        this.#inflight.delete(chainId);
      }
    }
    return this.#apply(layer, parent, progress);
  }

  async #apply(layer: UnpackLayer, parent: string | undefined, progress: (n: number) => void): Promise<UnpackedLayer> {
    const key = `unpack-${randomUUID()}`;
    await this.#snapshotter.prepare(key, parent);
    try {
      const { diffId, size } = await this.#extract(key, layer.blob, progress);
      if (layer.diffId && layer.diffId !== diffId) {
        throw new Fault('invalid-argument', `layer ${layer.blob}: diffID ${diffId} does not match the image config's ${layer.diffId}`);
      }
      const chainId = chainOf(parent, diffId);
      if (await this.#snapshotter.stat(chainId)) {
        await this.#snapshotter.remove(key);
        return { diffId, chainId, size };
      }
      await this.#snapshotter.commit(chainId, key);
      return { diffId, chainId, size };
    } catch (err) {
      await this.#snapshotter.remove(key).catch(() => undefined);
      throw err;
    }
  }

  async #extract(key: string, blob: string, progress: (n: number) => void): Promise<{ diffId: string; size: number }> {
    const hasher = new DiffHasher(progress);
    // This pipeline owns the blob, the decompressor and the hasher; the snapshotter's own pipeline reads the
    // hasher, so a failure on either side destroys the other with it and both promises reject (never unheard).
    const feeding = pipeline(await this.#blobs.read(blob), decompressStream(), hasher);
    feeding.catch(() => undefined);
    try {
      await this.#snapshotter.applyLayer(key, hasher);
    } catch (err) {
      hasher.destroy();
      const cause = await feeding.then(() => undefined, (e: unknown) => e);
      // The decompressor's complaint (a truncated gzip) says more than the tar reader's premature end.
      throw archiveFault(isFault(err) || !isFault(cause) ? err : cause);
    }
    // The tar reader may stop at the end-of-archive blocks; the diffID covers every byte, padding included.
    hasher.resume();
    await feeding;
    return { diffId: hasher.digest(), size: hasher.bytes };
  }
}

function chainOf(parent: string | undefined, diffId: string): string {
  return parent ? chainIds([parent, diffId])[1] : diffId;
}

/** Passes bytes through while computing their sha256 (the diffID) and reporting how far it got. */
class DiffHasher extends Transform {
  bytes = 0;
  #digester = new Digester();
  #progress: (n: number) => void;
  #lastReport = 0;

  constructor(progress: (n: number) => void) {
    super();
    this.#progress = progress;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    this.#digester.update(chunk);
    this.bytes += chunk.length;
    if (this.bytes - this.#lastReport >= 512 * 1024) {
      this.#lastReport = this.bytes;
      this.#progress(this.bytes);
    }
    callback(null, chunk);
  }

  digest(): string {
    return this.#digester.digest();
  }
}
