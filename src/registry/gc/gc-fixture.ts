import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createLogger } from '../../base/log.ts';
import { SqliteGcIndex } from '../../meta/sqlite-gc-index.ts';
import { DriverBlobStore } from '../../store/driver-blob-store.ts';
import { FsDriver } from '../../store/fs-driver.ts';
import { startTestV1, type TestV1 } from '../v1/test-v1.ts';
import { EngineRoots } from './engine-roots.ts';
import { type CollectOptions, type CollectResult, GarbageCollector } from './garbage-collector.ts';

/** A v2 + v1 registry on a temp root with a collector over the same files and database, for the gc tests. */
export interface GcFixture extends TestV1 {
  blobs: DriverBlobStore;
  collector: GarbageCollector;
  /** One collection with the default grace (an hour), recording what it removed in the order it reported. */
  collect(options?: Partial<CollectOptions>): Promise<CollectResult & { removed: string[] }>;
  /** Digests of every blob file present. */
  present(): Promise<string[]>;
  /** Makes every blob and manifest row look two hours old, past the grace period. */
  age(): Promise<void>;
  /** Writes engine records (images.json with what the engine may add, and container records). */
  writeEngine(images: { id: string; layers: string[]; manifest?: string }[], containers?: Record<string, string>): Promise<void>;
}

export const graceSeconds = 3600;

export async function startGcFixture(): Promise<GcFixture> {
  const t = await startTestV1();
  const blobs = new DriverBlobStore({ driver: new FsDriver({ root: t.root }) });
  const collector = new GarbageCollector({ blobs, index: new SqliteGcIndex(t.db), engine: new EngineRoots(t.root), logger: createLogger({ level: 'silent' }) });
  return {
    ...t,
    blobs,
    collector,
    async collect(options = {}) {
      const removed: string[] = [];
      const result = await collector.collect({
        graceSeconds,
        ...options,
        onBlob: (b) => removed.push(b.digest),
        onManifest: (m) => removed.push(`${m.repository}@${m.digest}`),
      });
      return { ...result, removed };
    },
    async present() {
      const out: string[] = [];
      for await (const info of blobs.list()) out.push(info.digest);
      return out.sort();
    },
    async age() {
      const past = new Date(Date.now() - 2 * graceSeconds * 1000);
      for await (const info of blobs.list()) await utimes(blobPath(t.root, info.digest), past, past);
      t.db.prepare('UPDATE manifests SET created_at = ?').run(past.toISOString());
    },
    async writeEngine(images, containers = {}) {
      const dir = join(t.root, 'engine', 'images');
      await mkdir(dir, { recursive: true });
      const records = images.map((image) => ({
        id: image.id,
        layers: image.layers.map((blob) => ({ blob, mediaType: 'application/vnd.oci.image.layer.v1.tar', diffId: blob, chainId: blob, size: 1 })),
        repoDigests: [],
        size: 1,
        parent: 'sha256:' + '0'.repeat(64),
        ...(image.manifest ? { manifest: { digest: image.manifest, mediaType: 'application/vnd.oci.image.manifest.v1+json' } } : {}),
      }));
      await writeFile(join(dir, 'images.json'), JSON.stringify({ images: records, refs: {}, future: true }));
      for (const [id, imageId] of Object.entries(containers)) {
        await mkdir(join(t.root, 'engine', 'containers', id), { recursive: true });
        await writeFile(join(t.root, 'engine', 'containers', id, 'config.v2.json'), JSON.stringify({ id, imageId, name: `/${id}` }));
      }
    },
  };
}

export function blobPath(root: string, digest: string): string {
  const hex = digest.slice('sha256:'.length);
  return join(root, 'blobs', 'sha256', hex.slice(0, 2), hex);
}

/** Every blob file re-hashes to its name; answers the ones that do not. */
export async function corruptBlobs(root: string): Promise<string[]> {
  const bad: string[] = [];
  const dir = join(root, 'blobs', 'sha256');
  for (const shard of await readdir(dir).catch(() => [] as string[])) {
    for (const name of await readdir(join(dir, shard))) {
      const hex = createHash('sha256').update(await readFile(join(dir, shard, name))).digest('hex');
      if (hex !== name) bad.push(`${shard}/${name}`);
    }
  }
  return bad;
}
