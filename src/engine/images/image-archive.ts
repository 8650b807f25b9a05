/*
 * `docker save` / `docker load` archives. Save writes what moby 25+ writes: an OCI layout (oci-layout, index.json,
 * blobs/sha256/…) that is also a docker-archive (manifest.json naming each image's config, RepoTags and layer files
 * inside blobs/). Layers go out as stored (a pulled layer stays compressed; moby's loader and skopeo accept that).
 * Load reads manifest.json (either layout: moby's older `<id>/layer.tar` archives too), or index.json alone.
 * Both stream: layer files travel between the tar and the BlobStore without being held in memory.
 */
import { posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { PassThrough, Readable } from 'node:stream';
import { extract, pack, type Pack } from 'tar-stream';
import { feedingFault } from '../../base/archive-fault.ts';
import { Fault } from '../../base/fault.ts';
import { digestOf } from '../../oci/digest.ts';
import { mediaTypes } from '../../oci/media-types.ts';
import type { BlobStore } from '../../store/blob-store.ts';
import { imageManifest } from './image-manifest.ts';
import { decompressStream } from './layer-compression.ts';
import type { ImageRecord } from './image-store.ts';

export interface SavedImage {
  record: ImageRecord;
  /** Full references (`docker.io/library/busybox:latest`) to record in the archive. */
  refs: string[];
  /** The same, as RepoTags (`busybox:latest`). */
  repoTags: string[];
}

/** Streams the archive of `images` (each blob once). */
export function saveArchive(blobs: BlobStore, images: readonly SavedImage[]): Readable {
  const tar = pack();
  const out = new PassThrough();
  // pipeline owns both streams' errors: a failure mid-archive must end the response, not the process.
  pipeline(tar as unknown as Readable, out).catch(() => undefined);
  writeArchive(tar, blobs, images).then(
    () => tar.finalize(),
    (err: Error) => out.destroy(err),
  );
  return out;
}

async function writeArchive(tar: Pack, blobs: BlobStore, images: readonly SavedImage[]): Promise<void> {
  const written = new Set<string>();
  const blob = async (digest: string) => {
    if (written.has(digest)) return;
    written.add(digest);
    const stat = await blobs.stat(digest);
    if (!stat) throw new Fault('failed-precondition', `blob ${digest} is not stored locally`);
    const entry = tar.entry({ name: blobPath(digest), size: stat.size, mode: 0o644 });
    await pipeline(await blobs.read(digest), entry);
  };
  const bytes = async (name: string, body: Buffer) => {
    await new Promise<void>((resolve, reject) => tar.entry({ name, size: body.length, mode: 0o644 }, body, (err) => (err ? reject(err) : resolve())));
  };
  await bytes('oci-layout', Buffer.from('{"imageLayoutVersion":"1.0.0"}'));
  const dockerManifest: Record<string, unknown>[] = [];
  const indexEntries: Record<string, unknown>[] = [];
  for (const { record, refs, repoTags } of images) {
    const manifest = await imageManifest(blobs, record);
    await blob(record.id);
    for (const layer of record.layers) await blob(layer.blob);
    if (!written.has(manifest.digest)) {
      written.add(manifest.digest);
      await bytes(blobPath(manifest.digest), manifest.bytes);
    }
    const descriptor = { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.bytes.length };
    if (!refs.length) indexEntries.push(descriptor);
    for (const ref of refs) {
      const tag = ref.slice(ref.lastIndexOf(':') + 1);
      indexEntries.push({ ...descriptor, annotations: { 'io.containerd.image.name': ref, 'org.opencontainers.image.ref.name': tag } });
    }
    dockerManifest.push({ Config: blobPath(record.id), RepoTags: repoTags, Layers: record.layers.map((l) => blobPath(l.blob)) });
  }
  await bytes('index.json', Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: mediaTypes.ociIndex, manifests: indexEntries })));
  await bytes('manifest.json', Buffer.from(JSON.stringify(dockerManifest)));
}

function blobPath(digest: string): string {
  const [algorithm, hex] = digest.split(':');
  return `blobs/${algorithm}/${hex}`;
}

/** What a loaded archive declares, with every file it names resolved to a stored blob. */
export interface ArchiveImage {
  config: Buffer;
  configDigest: string;
  /** Layer blobs (as stored in the BlobStore), bottom first. */
  layers: string[];
  repoTags: string[];
}

/** Files up to this size are kept in memory while the archive streams (configs, manifests, small layers). */
const smallFile = 1024 * 1024;
const maxSmallTotal = 64 * 1024 * 1024;

/**
 * Reads a `docker save` archive from `body`: large files go straight into the BlobStore (verified against their
 * name when it is a digest), small ones stay in memory until the index says what they are.
 */
export async function readArchive(body: Readable, blobs: BlobStore, ingest: (source: Readable) => Promise<string>): Promise<ArchiveImage[]> {
  const small = new Map<string, Buffer>();
  const large = new Map<string, string>();
  /** moby before 25 saves a repeated layer as a symlink to its first copy (`<id>/layer.tar -> ../<id0>/layer.tar`). */
  const links = new Map<string, string>();
  let smallTotal = 0;
  const extractor = extract();
  // moby's loader takes a compressed archive too (DecompressStream); the pipeline owns all three streams.
  const feeding = pipeline(body, decompressStream(), extractor as unknown as NodeJS.WritableStream);
  feeding.catch(() => undefined);
  try {
    for await (const entry of extractor as unknown as AsyncIterable<Readable & { header: { name: string; type?: string | null; size?: number; linkname?: string | null } }>) {
      const name = entry.header.name.replace(/^(\.\/)+/, '');
      if (entry.header.type === 'symlink' && entry.header.linkname) links.set(name, posix.normalize(posix.join(posix.dirname(name), entry.header.linkname)));
      if (entry.header.type !== 'file') {
        entry.resume();
        continue;
      }
      if ((entry.header.size ?? 0) > smallFile) {
        const digest = await ingest(entry);
        const named = /^blobs\/(sha256|sha512)\/([a-f0-9]+)$/.exec(name);
        if (named && `${named[1]}:${named[2]}` !== digest) throw new Fault('invalid-argument', `archive file ${name} does not match its digest (${digest})`);
        large.set(name, digest);
        continue;
      }
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      const bytes = Buffer.concat(chunks);
      smallTotal += bytes.length;
      if (smallTotal > maxSmallTotal) throw new Fault('too-large', 'the archive holds more small files than an image archive has');
      small.set(name, bytes);
    }
    await feeding;
  } catch (err) {
    extractor.destroy();
    body.destroy();
    throw await feedingFault(err, feeding);
  }
  const follow = (path: string): string => {
    let current = path.replace(/^(\.\/)+/, '');
    for (let hops = 0; hops < 8 && links.has(current); hops++) current = links.get(current)!;
    return current;
  };
  const blobOf = async (path: string): Promise<string> => {
    const normal = follow(path);
    const stored = large.get(normal);
    if (stored) return stored;
    const bytes = small.get(normal);
    if (!bytes) throw new Fault('invalid-argument', `the archive names ${path} but does not contain it`);
    return storeSmall(blobs, bytes, ingest);
  };
  const fileOf = (path: string): Buffer | undefined => small.get(follow(path));
  const manifestJson = small.get('manifest.json');
  if (manifestJson) return fromDockerManifest(parseJson(manifestJson, 'manifest.json'), fileOf, blobOf);
  const index = small.get('index.json');
  if (index) return fromOciIndex(parseJson(index, 'index.json'), fileOf, blobOf);
  throw new Fault('invalid-argument', 'the archive has neither manifest.json nor index.json: not a docker save archive');
}

async function fromDockerManifest(
  manifest: unknown,
  fileOf: (path: string) => Buffer | undefined,
  blobOf: (path: string) => Promise<string>,
): Promise<ArchiveImage[]> {
  if (!Array.isArray(manifest)) throw new Fault('invalid-argument', 'manifest.json is not a list of images');
  const out: ArchiveImage[] = [];
  for (const item of manifest as { Config?: unknown; RepoTags?: unknown; Layers?: unknown }[]) {
    if (typeof item.Config !== 'string' || !Array.isArray(item.Layers)) throw new Fault('invalid-argument', 'manifest.json: an image without Config or Layers');
    const config = fileOf(item.Config);
    if (!config) throw new Fault('invalid-argument', `the archive names ${item.Config} but does not contain it`);
    const layers: string[] = [];
    for (const layer of item.Layers) layers.push(await blobOf(String(layer)));
    const repoTags = Array.isArray(item.RepoTags) ? item.RepoTags.map(String) : [];
    out.push({ config, configDigest: digestOf(config), layers, repoTags });
  }
  return out;
}

async function fromOciIndex(
  index: unknown,
  fileOf: (path: string) => Buffer | undefined,
  blobOf: (path: string) => Promise<string>,
): Promise<ArchiveImage[]> {
  const manifests = (index as { manifests?: { digest?: string; annotations?: Record<string, string> }[] }).manifests;
  if (!Array.isArray(manifests)) throw new Fault('invalid-argument', 'index.json has no manifests');
  const out: ArchiveImage[] = [];
  for (const descriptor of manifests) {
    const bytes = fileOf(blobPath(String(descriptor.digest)));
    if (!bytes) throw new Fault('invalid-argument', `index.json names ${descriptor.digest} but the archive does not contain it`);
    const manifest = parseJson(bytes, String(descriptor.digest)) as { config?: { digest?: string }; layers?: { digest?: string }[] };
    const config = manifest.config?.digest ? fileOf(blobPath(manifest.config.digest)) : undefined;
    if (!config || !Array.isArray(manifest.layers)) throw new Fault('invalid-argument', `manifest ${descriptor.digest} is not an image manifest in this archive`);
    const layers: string[] = [];
    for (const layer of manifest.layers) layers.push(await blobOf(blobPath(String(layer.digest))));
    const name = descriptor.annotations?.['io.containerd.image.name'];
    out.push({ config, configDigest: digestOf(config), layers, repoTags: name ? [name] : [] });
  }
  return out;
}

async function storeSmall(blobs: BlobStore, bytes: Buffer, ingest: (source: Readable) => Promise<string>): Promise<string> {
  const digest = digestOf(bytes);
  return (await blobs.touch(digest)) ? digest : ingest(Readable.from([bytes]));
}

function parseJson(bytes: Buffer, what: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new Fault('invalid-argument', `${what} in the archive is not JSON`);
  }
}
