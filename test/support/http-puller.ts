import { createHash } from 'node:crypto';
import { Agent, request, type IncomingMessage } from 'node:http';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** Every manifest type a pull accepts, as dockerd and skopeo send them. */
export const manifestAccept = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

export interface PullOptions {
  /** Keep-alive connections to reuse between requests; one per pull by default. */
  agent?: Agent;
  /** An Authorization header value sent with every request. */
  authorization?: string;
}

export interface PulledBlob {
  digest: string;
  size: number;
}

export interface PullResult {
  manifestDigest: string;
  /** Config and layers of the (platform) image, each read whole and verified. */
  blobs: PulledBlob[];
  /** Bytes of blobs read (manifests not counted). */
  bytes: number;
}

interface Descriptor {
  mediaType?: string;
  digest: string;
  size: number;
  platform?: { os?: string; architecture?: string };
}

/**
 * A plain-HTTP pull as a client makes it: the manifest by tag or digest (an index resolves to its linux/amd64
 * image), then the config and each layer in order, streamed through sha256 and never held in memory. Throws on
 * any status but 200, a digest or size that does not match, or a transfer that breaks.
 */
export async function pullImage(base: string, repo: string, reference: string, options: PullOptions = {}): Promise<PullResult> {
  let manifest = await getManifest(base, repo, reference, options);
  if (isIndex(manifest.body)) {
    const child = (manifest.body.manifests as Descriptor[]).find((m) => m.platform?.os === 'linux' && m.platform?.architecture === 'amd64');
    if (!child) throw new Error(`${repo}:${reference}: the index has no linux/amd64 image`);
    manifest = await getManifest(base, repo, child.digest, options);
  }
  const wanted = [manifest.body.config as Descriptor, ...(manifest.body.layers as Descriptor[])];
  const blobs: PulledBlob[] = [];
  for (const descriptor of wanted) blobs.push(await pullBlob(base, repo, descriptor, options));
  return { manifestDigest: manifest.digest, blobs, bytes: blobs.reduce((sum, blob) => sum + blob.size, 0) };
}

function isIndex(body: Record<string, unknown>): boolean {
  return Array.isArray(body.manifests);
}

/** GET of a manifest; its bytes must hash to the digest asked for, or to Docker-Content-Digest when sent. */
export async function getManifest(base: string, repo: string, reference: string, options: PullOptions = {}): Promise<{ digest: string; body: Record<string, any> }> {
  const res = await get(`${base}/v2/${repo}/manifests/${reference}`, { accept: manifestAccept }, options);
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  const bytes = Buffer.concat(chunks);
  if (res.statusCode !== 200) throw new HttpError(res.statusCode ?? 0, `manifest ${repo}:${reference}: ${res.statusCode} ${bytes.toString('utf8')}`);
  const digest = sha256(bytes);
  const claimed = reference.startsWith('sha256:') ? reference : (res.headers['docker-content-digest'] as string | undefined);
  if (claimed && claimed !== digest) throw new Error(`manifest ${repo}:${reference}: bytes hash to ${digest}, not ${claimed}`);
  return { digest, body: JSON.parse(bytes.toString('utf8')) };
}

/** GET of a blob streamed through sha256: its size and digest must be the descriptor's. */
export async function pullBlob(base: string, repo: string, descriptor: Descriptor, options: PullOptions = {}): Promise<PulledBlob> {
  const res = await get(`${base}/v2/${repo}/blobs/${descriptor.digest}`, {}, options);
  if (res.statusCode !== 200) {
    res.resume();
    throw new HttpError(res.statusCode ?? 0, `blob ${repo}@${descriptor.digest}: ${res.statusCode}`);
  }
  const hash = createHash('sha256');
  let size = 0;
  await pipeline(
    res,
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        size += chunk.length;
        done();
      },
    }),
  );
  const digest = `sha256:${hash.digest('hex')}`;
  if (size !== descriptor.size || digest !== descriptor.digest) {
    throw new Error(`blob ${repo}@${descriptor.digest}: got ${size} bytes hashing to ${digest}, expected ${descriptor.size}`);
  }
  return { digest, size };
}

export class HttpError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** One GET with node:http (redirects followed: a registry may send blobs elsewhere). */
export function get(url: string, headers: Record<string, string>, options: PullOptions = {}, redirects = 3): Promise<IncomingMessage> {
  const all = options.authorization ? { ...headers, authorization: options.authorization } : headers;
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: all, agent: options.agent }, (res) => {
      const location = res.headers.location;
      if (redirects > 0 && location && [301, 302, 303, 307, 308].includes(res.statusCode ?? 0)) {
        res.resume();
        resolve(get(new URL(location, url).toString(), headers, {}, redirects - 1));
        return;
      }
      resolve(res);
    });
    req.once('error', reject);
    req.end();
  });
}

export const sha256 = (bytes: Buffer | string) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
