import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { Fault } from '../../base/fault.ts';

/**
 * The engine's blobs, read from its files on the shared root (the engine may run in another process): every
 * image of <root>/engine/images/images.json (config, layers, the manifest it was pulled with) and the image of
 * every container record (<root>/engine/containers/<id>/config.v2.json). Only the fields named here are read;
 * the engine may add others.
 */
export class EngineRoots {
  readonly #imagesFile: string;
  readonly #containersDir: string;
  #stamp = '';

  constructor(root: string) {
    this.#imagesFile = join(root, 'engine', 'images', 'images.json');
    this.#containersDir = join(root, 'engine', 'containers');
  }

  /** Every digest the engine's records name, and remembers what the files looked like. */
  async read(): Promise<Set<string>> {
    const stamp = await this.#currentStamp();
    const digests = new Set<string>();
    for (const digest of await this.#imageDigests()) digests.add(digest);
    for (const digest of await this.#containerImages()) digests.add(digest);
    this.#stamp = stamp;
    return digests;
  }

  /** True when images.json or the container directory changed since the last `read`. */
  async changed(): Promise<boolean> {
    return (await this.#currentStamp()) !== this.#stamp;
  }

  async #currentStamp(): Promise<string> {
    // images.json is replaced by rename, so a new write is a new inode; a new container is a new directory entry.
    const files = await Promise.all([this.#imagesFile, this.#containersDir].map((path) => stat(path).catch(() => undefined)));
    return files.map((info) => (info ? `${info.ino}:${info.size}:${info.mtimeMs}` : '-')).join('/');
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

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Fault('failed-precondition', `${file} is not JSON`, { cause: err });
  }
}
