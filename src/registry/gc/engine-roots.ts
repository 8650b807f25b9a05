import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { Fault } from '../../base/fault.ts';
import { processAlive } from '../../base/process-alive.ts';

/**
 * The engine's blobs, read from its files on the shared root (the engine may run in another process): the
 * digests of every live lease (<root>/engine/leases/<id>.json: an operation about to record them), every image of
 * <root>/engine/images/images.json (config, layers, the manifest it was pulled with) and the image of every
 * container record (<root>/engine/containers/<id>/config.v2.json). Only the fields named here are read; the
 * engine may add others.
 */
export class EngineRoots {
  readonly #leasesDir: string;
  readonly #imagesFile: string;
  readonly #containersDir: string;
  readonly #alive: (pid: number) => boolean;
  #stamp = '';

  /** `alive` says whether a lease's process still runs (a test may pass its own). */
  constructor(root: string, options: { alive?: (pid: number) => boolean } = {}) {
    this.#leasesDir = join(root, 'engine', 'leases');
    this.#imagesFile = join(root, 'engine', 'images', 'images.json');
    this.#containersDir = join(root, 'engine', 'containers');
    this.#alive = options.alive ?? processAlive;
  }

  /** Every digest the engine's records name, and remembers what the files looked like. */
  async read(): Promise<Set<string>> {
    const stamp = await this.#currentStamp();
    const digests = new Set<string>();
    // Leases first: the engine drops one only after images.json names its digests, so reading the leases before
    // images.json never misses a digest that moves from one to the other meanwhile.
    for (const digest of await this.#leasedDigests()) digests.add(digest);
    for (const digest of await this.#imageDigests()) digests.add(digest);
    for (const digest of await this.#containerImages()) digests.add(digest);
    this.#stamp = stamp;
    return digests;
  }

  /** True when a lease, images.json or the container directory changed since the last `read`. */
  async changed(): Promise<boolean> {
    return (await this.#currentStamp()) !== this.#stamp;
  }

  async #currentStamp(): Promise<string> {
    // images.json is replaced by rename, so a new write is a new inode; a new lease or container is a new directory entry.
    const paths = [this.#leasesDir, this.#imagesFile, this.#containersDir];
    const files = await Promise.all(paths.map((path) => stat(path).catch(() => undefined)));
    return files.map((info) => (info ? `${info.ino}:${info.size}:${info.mtimeMs}` : '-')).join('/');
  }

  /** The digests of leases whose process still runs; a dead process's lease protects nothing. */
  async #leasedDigests(): Promise<string[]> {
    const names = await readdir(this.#leasesDir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [] as string[];
      throw err;
    });
    const digests: string[] = [];
    for (const name of names.filter((n) => n.endsWith('.json'))) {
      const file = join(this.#leasesDir, name);
      // Dropped between the listing and the read: its operation is done and images.json (read after) names it.
      const text = await readFile(file, 'utf8').catch(() => undefined);
      if (text === undefined) continue;
      const parsed = leaseSchema.safeParse(parseJson(text, file));
      if (!parsed.success) throw new Fault('failed-precondition', `${file} is not a lease this collector knows`, { cause: parsed.error });
      if (this.#alive(parsed.data.pid)) digests.push(...parsed.data.digests);
    }
    return digests;
  }

  async #imageDigests(): Promise<string[]> {
    const text = await readFile(this.#imagesFile, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (text === undefined) return [];
    const parsed = imagesFileSchema.safeParse(parseJson(text, this.#imagesFile));
    // A file this reader does not understand stops the collection: guessing could free an image's layers.
    if (!parsed.success) throw new Fault('failed-precondition', `${this.#imagesFile} is not an image store this collector knows`, { cause: parsed.error });
    return parsed.data.images.flatMap((image) => [image.id, ...image.layers.map((layer) => layer.blob), ...(image.manifest ? [image.manifest.digest] : [])]);
  }

  async #containerImages(): Promise<string[]> {
    const ids = await readdir(this.#containersDir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [] as string[];
      throw err;
    });
    const digests: string[] = [];
    for (const id of ids) {
      const file = join(this.#containersDir, id, 'config.v2.json');
      const text = await readFile(file, 'utf8').catch(() => undefined);
      if (text === undefined) continue;
      const parsed = containerSchema.safeParse(parseJson(text, file));
      if (!parsed.success) throw new Fault('failed-precondition', `${file} is not a container record this collector knows`, { cause: parsed.error });
      digests.push(parsed.data.imageId);
    }
    return digests;
  }
}

const imagesFileSchema = z.object({
  images: z.array(
    z.object({
      id: z.string(),
      layers: z.array(z.object({ blob: z.string() })),
      manifest: z.object({ digest: z.string() }).optional(),
    }),
  ),
});

const containerSchema = z.object({ imageId: z.string() });

const leaseSchema = z.object({ pid: z.number().int().positive(), digests: z.array(z.string()) });

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Fault('failed-precondition', `${file} is not JSON`, { cause: err });
  }
}
