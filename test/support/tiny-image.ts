import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { RegistryClient } from '../../src/client/registry-client.ts';
import { putManifest, uploadBlob } from '../../src/client/registry-push.ts';

const manifestType = 'application/vnd.oci.image.manifest.v1+json';
const sha256 = (body: Buffer | string) => `sha256:${createHash('sha256').update(body).digest('hex')}`;

/** A monolithic blob upload (POST ?digest=); throws unless the registry answers 201. */
export async function postBlob(base: string, repo: string, body: Buffer): Promise<{ digest: string; size: number }> {
  const digest = sha256(body);
  const res = await fetch(`${base}/v2/${repo}/blobs/uploads/?digest=${digest}`, { method: 'POST', body, headers: { 'content-type': 'application/octet-stream' } });
  if (res.status !== 201) throw new Error(`blob push: ${res.status} ${await res.text()}`);
  return { digest, size: body.length };
}

/** A one-layer OCI manifest over fresh small blobs (their bytes follow `seed`), pushed under `tag`; its digest. */
export async function pushTinyImage(base: string, repo: string, tag: string, seed: string): Promise<string> {
  const config = await postBlob(base, repo, Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', seed })));
  const layer = await postBlob(base, repo, Buffer.from(`layer ${seed}`));
  const body = JSON.stringify({
    schemaVersion: 2,
    mediaType: manifestType,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }],
  });
  const res = await fetch(`${base}/v2/${repo}/manifests/${tag}`, { method: 'PUT', body, headers: { 'content-type': manifestType } });
  if (res.status !== 201) throw new Error(`manifest push: ${res.status} ${await res.text()}`);
  return sha256(body);
}

/**
 * pushTinyImage through src/client (POST then PUT, as docker pushes), so it works on registries without the
 * monolithic POST (distribution 2.8). The blobs' bytes follow `seed`.
 */
export async function uploadTinyImage(base: string, repo: string, tag: string, seed: string): Promise<string> {
  const session = new RegistryClient().sessionAt({ base: new URL(base), insecureTls: false }, repo, {}, ['pull', 'push']);
  const blob = async (body: Buffer) => {
    await uploadBlob(session, repo, { digest: sha256(body), size: body.length, open: async () => Readable.from([body]) });
    return { digest: sha256(body), size: body.length };
  };
  const config = await blob(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', seed })));
  const layer = await blob(Buffer.from(`layer ${seed}`));
  const body = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: manifestType,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }],
    }),
  );
  return putManifest(session, repo, tag, { bytes: body, mediaType: manifestType, digest: sha256(body) });
}

/** One blob through src/client's upload (POST then PUT); its descriptor. */
export async function uploadTinyBlob(base: string, repo: string, body: Buffer): Promise<{ digest: string; size: number }> {
  const session = new RegistryClient().sessionAt({ base: new URL(base), insecureTls: false }, repo, {}, ['pull', 'push']);
  await uploadBlob(session, repo, { digest: sha256(body), size: body.length, open: async () => Readable.from([body]) });
  return { digest: sha256(body), size: body.length };
}
