import { createHash, randomFillSync } from 'node:crypto';
import { chmodSync, copyFileSync, createWriteStream, existsSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { once } from 'node:events';
import type { Dockerd } from './dockerd.ts';
import { runOk } from './run.ts';
import { withTempDir } from './temp.ts';

/**
 * A busybox rootfs tar: Debian's static /bin/busybox, a link per applet (sh, echo, cat, ls, sleep, true, false…),
 * /etc/passwd, /etc/group and a sticky /tmp. No image can be pulled here, so every test image starts from this.
 */
export async function buildBusyboxRootfsTar(dir: string): Promise<string> {
  const rootfs = join(dir, 'busybox-rootfs');
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'tmp', 'proc', 'sys', 'dev', 'root']) {
    mkdirSync(join(rootfs, d), { recursive: true });
  }
  chmodSync(join(rootfs, 'tmp'), 0o1777);
  copyFileSync('/bin/busybox', join(rootfs, 'bin/busybox'));
  const applets = (await runOk('/bin/busybox', ['--list-full'])).split('\n').filter(Boolean);
  for (const applet of applets) {
    const target = join(rootfs, applet);
    if (applet === 'bin/busybox' || existsSync(target)) continue;
    mkdirSync(dirname(target), { recursive: true });
    symlinkSync('/bin/busybox', target);
  }
  writeFileSync(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
  writeFileSync(join(rootfs, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
  const tar = join(dir, 'busybox.tar');
  await runOk('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', rootfs, '-cf', tar, '.']);
  rmSync(rootfs, { recursive: true, force: true });
  return tar;
}

/** `docker import` of the busybox rootfs as `ref` (CMD sh) into a test dockerd; returns the image ID. */
export async function importBusybox(dockerd: Dockerd, ref: string): Promise<string> {
  return withTempDir('wharf-busybox-', async (dir) => {
    const tar = await buildBusyboxRootfsTar(dir);
    await dockerd.dockerOk(['import', '--change', 'CMD ["sh"]', tar, ref]);
    return (await dockerd.dockerOk(['image', 'inspect', '--format', '{{.Id}}', ref])).trim();
  });
}

/** The name the team brief uses for importBusybox. */
export const buildBusyboxImage = importBusybox;

export interface BlobFile {
  digest: string;
  size: number;
  path: string;
}

/** Streams `size` random bytes to `path` while hashing them: large layers never sit in memory. */
export async function writeRandomBlob(path: string, size: number, chunkSize = 4 * 1024 * 1024): Promise<BlobFile> {
  const out = new HashingFile(path);
  await out.writeRandom(size, chunkSize);
  return out.close();
}

/**
 * A valid uncompressed layer tar holding one file, `random.bin`, of `payloadBytes` random bytes, streamed to `path`
 * while hashing. Valid so that dockerd can also unpack it; the blob is payload + 1.5 KiB of tar framing.
 */
export async function writeRandomLayerTar(path: string, payloadBytes: number): Promise<BlobFile> {
  const out = new HashingFile(path);
  await out.write(ustarFileHeader('random.bin', payloadBytes));
  await out.writeRandom(payloadBytes);
  await out.write(Buffer.alloc((512 - (payloadBytes % 512)) % 512 + 1024));
  return out.close();
}

/** A file written in order while its sha256 is computed, with backpressure. */
class HashingFile {
  readonly #path: string;
  readonly #hash = createHash('sha256');
  readonly #out;
  #size = 0;

  constructor(path: string) {
    this.#path = path;
    this.#out = createWriteStream(path);
  }

  async write(piece: Buffer): Promise<void> {
    this.#hash.update(piece);
    this.#size += piece.length;
    if (!this.#out.write(piece)) await once(this.#out, 'drain');
  }

  async writeRandom(size: number, chunkSize = 4 * 1024 * 1024): Promise<void> {
    for (let written = 0; written < size; ) {
      const n = Math.min(chunkSize, size - written);
      // A fresh buffer per write: the stream may still hold the previous one.
      await this.write(randomFillSync(Buffer.allocUnsafe(n)));
      written += n;
    }
  }

  async close(): Promise<BlobFile> {
    this.#out.end();
    await once(this.#out, 'close');
    return { digest: `sha256:${this.#hash.digest('hex')}`, size: this.#size, path: this.#path };
  }
}

/** A POSIX ustar header for a regular file owned by root, mode 0644, mtime 0. */
function ustarFileHeader(name: string, size: number): Buffer {
  const header = Buffer.alloc(512);
  const field = (offset: number, length: number, value: string) => header.write(value, offset, length, 'ascii');
  const octal = (offset: number, length: number, value: number) => field(offset, length, `${value.toString(8).padStart(length - 1, '0')}\0`);
  field(0, 100, name);
  octal(100, 8, 0o644);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, size);
  octal(136, 12, 0);
  field(148, 8, ' '.repeat(8));
  field(156, 1, '0');
  field(257, 8, 'ustar\u000000');
  let sum = 0;
  for (const byte of header) sum += byte;
  field(148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return header;
}

/**
 * An OCI image layout at `dir` with one random layer of `layerBytes` bytes (uncompressed tar media type, so the
 * config's diff_id is the layer digest; the bytes are raw random, not a tar), tagged `tag`. Returns the manifest
 * digest. Several calls on one `dir` add images to the same layout (the last one is what index.json names).
 */
export async function buildRandomOciLayout(dir: string, options: { layerBytes: number; tag?: string }): Promise<string> {
  const blobs = join(dir, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const tmp = join(dir, 'layer.tmp');
  const layer = await writeRandomBlob(tmp, options.layerBytes);
  renameSync(tmp, join(blobs, layer.digest.slice(7)));
  const image = writeOciImage(blobs, layer, {});
  writeOciIndex(dir, image.manifest, options.tag ?? 'latest');
  return image.manifest.digest;
}

export interface RandomLayerImage {
  /** What skopeo takes as source: `oci:DIR:TAG` or `docker-archive:FILE`. */
  ref: string;
  /** The layout directory or the archive file. */
  path: string;
  /** The layer blob's digest (= its diff_id: uncompressed) and size. */
  layer: Described;
  configDigest: string;
  /** The manifest digest (OCI layout only: a docker-archive holds no manifest; its digest is decided on push). */
  manifestDigest?: string;
}

/**
 * An image whose single layer is a valid tar of `layerBytes` random bytes, as an OCI layout (`dir` is the layout)
 * or a docker-archive (`dir/image.tar`, RepoTags `name:tag`), streamed to disk: sizes of gigabytes are fine.
 */
export async function makeRandomLayerImage(
  dir: string,
  options: { layerBytes: number; format: 'oci' | 'docker-archive'; name?: string; tag?: string; architecture?: string },
): Promise<RandomLayerImage> {
  const tag = options.tag ?? 'latest';
  const architecture = options.architecture ?? 'amd64';
  if (options.format === 'oci') {
    const blobs = join(dir, 'blobs', 'sha256');
    mkdirSync(blobs, { recursive: true });
    const layer = await writeRandomLayerTar(join(dir, 'layer.tmp'), options.layerBytes);
    const layerPath = join(blobs, layer.digest.slice(7));
    renameSync(layer.path, layerPath);
    const image = writeOciImage(blobs, { ...layer, path: layerPath }, { architecture });
    writeOciIndex(dir, image.manifest, tag);
    return { ref: `oci:${dir}:${tag}`, path: dir, layer: { digest: layer.digest, size: layer.size }, configDigest: image.config.digest, manifestDigest: image.manifest.digest };
  }
  const stage = join(dir, 'archive-stage');
  mkdirSync(stage, { recursive: true });
  const layer = await writeRandomLayerTar(join(stage, 'layer.tmp'), options.layerBytes);
  const layerName = `${layer.digest.slice(7)}.tar`;
  renameSync(layer.path, join(stage, layerName));
  const config = imageConfig(layer.digest, architecture);
  const configDigest = sha256(config);
  const configName = `${configDigest.slice(7)}.json`;
  writeFileSync(join(stage, configName), config);
  const repoTags = options.name ? [`${options.name}:${tag}`] : [];
  writeFileSync(join(stage, 'manifest.json'), JSON.stringify([{ Config: configName, RepoTags: repoTags, Layers: [layerName] }]));
  const archive = join(dir, 'image.tar');
  await runOk('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', stage, '-cf', archive, 'manifest.json', configName, layerName]);
  rmSync(stage, { recursive: true, force: true });
  return { ref: `docker-archive:${archive}`, path: archive, layer: { digest: layer.digest, size: layer.size }, configDigest };
}

const sha256 = (body: string | Buffer) => `sha256:${createHash('sha256').update(body).digest('hex')}`;

function imageConfig(diffId: string, architecture: string): string {
  return JSON.stringify({
    architecture,
    os: 'linux',
    config: { Cmd: ['sh'] },
    rootfs: { type: 'layers', diff_ids: [diffId] },
    history: [{ created_by: 'wharf test: random layer' }],
  });
}

export interface Described {
  digest: string;
  size: number;
}

function writeOciImage(blobs: string, layer: BlobFile, options: { architecture?: string }): { config: Described; manifest: Described } {
  const put = (body: string): Described => {
    const digest = sha256(body);
    writeFileSync(join(blobs, digest.slice(7)), body);
    return { digest, size: Buffer.byteLength(body) };
  };
  const config = put(imageConfig(layer.digest, options.architecture ?? 'amd64'));
  const manifest = put(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layer.digest, size: layer.size }],
    }),
  );
  return { config, manifest };
}

function writeOciIndex(dir: string, manifest: Described, tag: string): void {
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': tag } }],
    }),
  );
}
