/** Registry helpers for the engine's pull tests: a registry with or without auth, and an image pusher. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import bcrypt from 'bcryptjs';
import { digestOf } from '../../src/oci/digest.ts';
import { startDistribution as startSupportDistribution, type Distribution } from '../support/distribution.ts';

export type { Distribution };

/** Debian's docker-registry from test/support, optionally with htpasswd Basic auth for one user. */
export async function startDistribution(options: { user?: { name: string; password: string } } = {}): Promise<Distribution> {
  if (!options.user) return startSupportDistribution();
  const dir = mkdtempSync(join(tmpdir(), 'wharf-htpasswd-'));
  const htpasswdFile = join(dir, 'htpasswd');
  writeFileSync(htpasswdFile, `${options.user.name}:${bcrypt.hashSync(options.user.password, 5)}\n`);
  const registry = await startSupportDistribution({ htpasswdFile });
  return {
    ...registry,
    close: async () => {
      await registry.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface PushedImage {
  manifestDigest: string;
  manifestSize: number;
  configDigest: string;
  layerDigests: string[];
}

/**
 * Pushes an image made of the given uncompressed layer tars (gzipped here) with the plain registry API:
 * monolithic blob uploads, then the manifest. With `platforms`, pushes an OCI index over per-platform copies.
 */
export async function pushImage(
  registry: string,
  repository: string,
  tag: string,
  layers: Buffer[],
  options: { auth?: string; cmd?: string[] } = {},
): Promise<PushedImage> {
  const headers = await authHeaders(registry, repository, options.auth);
  const compressed = layers.map((l) => gzipSync(l));
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      created: new Date().toISOString(),
      config: { Cmd: options.cmd ?? ['sh'], Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => digestOf(l)) },
      history: layers.map(() => ({ created: new Date().toISOString(), created_by: 'test layer' })),
    }),
  );
  for (const blob of [config, ...compressed]) await pushBlob(registry, repository, blob, headers);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: digestOf(config), size: config.length },
      layers: compressed.map((c) => ({ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: digestOf(c), size: c.length })),
    }),
  );
  await putManifest(registry, repository, tag, manifest, 'application/vnd.docker.distribution.manifest.v2+json', headers);
  return { manifestDigest: digestOf(manifest), manifestSize: manifest.length, configDigest: digestOf(config), layerDigests: compressed.map((c) => digestOf(c)) };
}

/** Pushes an OCI index whose linux/amd64 entry is `manifestDigest` (plus a bogus arm64 entry) under `tag`. */
export async function pushIndex(
  registry: string,
  repository: string,
  tag: string,
  manifestDigest: string,
  manifestSize: number,
): Promise<string> {
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        { mediaType: 'application/vnd.docker.distribution.manifest.v2+json', digest: manifestDigest, size: manifestSize, platform: { os: 'linux', architecture: 'arm64' } },
        { mediaType: 'application/vnd.docker.distribution.manifest.v2+json', digest: manifestDigest, size: manifestSize, platform: { os: 'linux', architecture: 'amd64' } },
      ],
    }),
  );
  await putManifest(registry, repository, tag, index, 'application/vnd.oci.image.index.v1+json', {});
  return digestOf(index);
}

/** Basic credentials as the registry asks for them: directly, or exchanged for a push token (token flow). */
async function authHeaders(registry: string, repository: string, auth: string | undefined): Promise<Record<string, string>> {
  if (!auth) return {};
  const basic = `Basic ${Buffer.from(auth).toString('base64')}`;
  const challenge = (await fetch(`http://${registry}/v2/`)).headers.get('www-authenticate') ?? '';
  if (!challenge.startsWith('Bearer')) return { authorization: basic };
  const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
  const url = new URL(params.realm);
  url.searchParams.set('service', params.service);
  url.searchParams.set('scope', `repository:${repository}:push,pull`);
  const res = await fetch(url, { headers: { authorization: basic } });
  if (res.status !== 200) throw new Error(`token: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { token?: string; access_token?: string };
  return { authorization: `Bearer ${body.token ?? body.access_token}` };
}

async function pushBlob(registry: string, repository: string, blob: Buffer, headers: Record<string, string>): Promise<void> {
  const start = await fetch(`http://${registry}/v2/${repository}/blobs/uploads/`, { method: 'POST', headers });
  if (start.status !== 202) throw new Error(`upload start: ${start.status} ${await start.text()}`);
  const location = new URL(start.headers.get('location') ?? '', `http://${registry}`);
  location.searchParams.set('digest', digestOf(blob));
  const put = await fetch(location, { method: 'PUT', headers: { ...headers, 'content-type': 'application/octet-stream' }, body: blob });
  if (put.status !== 201) throw new Error(`upload: ${put.status} ${await put.text()}`);
}

async function putManifest(registry: string, repository: string, tag: string, body: Buffer, type: string, headers: Record<string, string>): Promise<void> {
  const res = await fetch(`http://${registry}/v2/${repository}/manifests/${tag}`, { method: 'PUT', headers: { ...headers, 'content-type': type }, body });
  if (res.status !== 201) throw new Error(`manifest: ${res.status} ${await res.text()}`);
}

/** A small layer tar from path -> content entries (empty content for whiteout markers). */
export async function layerTar(files: Record<string, string | Uint8Array>): Promise<Buffer> {
  const { pack } = await import('tar-stream');
  const p = pack();
  for (const [name, content] of Object.entries(files)) {
    p.entry({ name, mode: 0o644, mtime: new Date(0) }, typeof content === 'string' ? content : new Uint8Array(content));
  }
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of p) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}
