import type { IncomingMessage } from 'node:http';
import { Fault } from '../base/fault.ts';
import { digestOf, parseDigest } from '../oci/digest.ts';
import { descriptorSchema, parseManifestJson } from '../oci/manifest.ts';
import { isIndexMediaType, mediaTypes } from '../oci/media-types.ts';
import { readBody, redirectedAnswer } from './http-request.ts';
import { registryErrorText, type RegistrySession } from './registry-client.ts';

const acceptHeader = [mediaTypes.dockerManifest, mediaTypes.dockerManifestList, mediaTypes.ociManifest, mediaTypes.ociIndex].join(', ');
const maxManifestBytes = 4 * 1024 * 1024;
const maxConfigBytes = 8 * 1024 * 1024;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  platform?: Platform;
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface ImageManifest {
  schemaVersion: number;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
}

export interface ResolvedImage {
  /** Digest the reference resolved to (the index's when it was a list): what `RepoDigests` records. */
  repoDigest: string;
  manifestDigest: string;
  manifest: ImageManifest;
  /** The platform manifest as the registry sent it, and its media type (a push can send it back unchanged). */
  manifestBytes: Buffer;
  manifestMediaType: string;
  configDigest: string;
  config: Buffer;
}

/** The code of the fault for an image of a type no registry can make pullable (moby's unsupportedMediaTypeError). */
export const unsupportedMediaTypeCode = 'UNSUPPORTED_MEDIA_TYPE';

/** The platform this process runs on, in OCI terms. */
export function hostPlatform(): Platform {
  const architecture = ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' } as Record<string, string>)[
    process.arch
  ];
  return { os: 'linux', architecture: architecture ?? process.arch };
}

/**
 * Resolves `reference` (tag or digest) to one image manifest and its config: manifest lists and OCI indexes are
 * narrowed to `platform`; every document fetched by digest is verified against it.
 */
export async function resolveImage(
  session: RegistrySession,
  repository: string,
  options: { reference: string; platform?: Platform; signal?: AbortSignal },
): Promise<ResolvedImage> {
  const platform = options.platform ?? hostPlatform();
  const top = await fetchManifest(session, repository, options.reference, options.signal);
  let manifest = top;
  if (isIndex(top.mediaType)) {
    const entries = parseManifestJson(top.bytes).manifests;
    const chosen = pickPlatform(Array.isArray(entries) ? entries.filter(isDescriptor) : [], platform);
    if (!chosen) {
      throw new Fault('not-found', `no matching manifest for ${platform.os}/${platform.architecture} in the manifest list entries`);
    }
    manifest = await fetchManifest(session, repository, chosen.digest, options.signal);
  }
  if (isIndex(manifest.mediaType) || !isImageManifest(manifest.mediaType)) {
    throw new Fault('invalid-argument', `unsupported manifest media type "${manifest.mediaType}" for ${repository}`, { code: unsupportedMediaTypeCode });
  }
  const parsed = parseManifestJson(manifest.bytes) as unknown as ImageManifest;
  if (!isDescriptor(parsed.config) || !Array.isArray(parsed.layers) || !parsed.layers.every(isDescriptor)) {
    throw new Fault('invalid-argument', `manifest ${manifest.digest} of ${repository} has no valid config and layers`);
  }
  const config = await fetchSmallBlob(session, repository, parsed.config.digest, options.signal);
  return {
    repoDigest: top.digest,
    manifestDigest: manifest.digest,
    manifest: parsed,
    manifestBytes: manifest.bytes,
    manifestMediaType: manifest.mediaType,
    configDigest: parsed.config.digest,
    config,
  };
}

interface FetchedManifest {
  mediaType: string;
  digest: string;
  bytes: Buffer;
}

async function fetchManifest(
  session: RegistrySession,
  repository: string,
  reference: string,
  signal?: AbortSignal,
): Promise<FetchedManifest> {
  const res = await session.request(`/v2/${repository}/manifests/${reference}`, { headers: { accept: acceptHeader }, signal });
  const bytes = await readBody(res, maxManifestBytes);
  if (res.statusCode !== 200) throw statusFault(res, bytes, `manifest for ${repository}:${reference}`);
  const digest = digestOf(bytes);
  if (reference.includes(':') && parseDigest(reference).value !== digest) {
    throw new Fault('invalid-argument', `manifest verification failed for digest ${reference}`);
  }
  const declared = parseManifestJson(bytes).mediaType;
  const header = String(res.headers['content-type'] ?? '').split(';')[0].trim();
  return { mediaType: typeof declared === 'string' ? declared : header, digest, bytes };
}

// The fields of a descriptor the client uses as they are (the registry's JSON is not trusted with types), checked as
// the registry checks them on a push.
const usableDescriptor = descriptorSchema.pick({ digest: true, size: true });

function isDescriptor(value: unknown): value is Descriptor {
  return usableDescriptor.safeParse(value).success;
}

async function fetchSmallBlob(session: RegistrySession, repository: string, digest: string, signal?: AbortSignal): Promise<Buffer> {
  const res = await openBlob(session, repository, digest, signal);
  const bytes = await readBody(res, maxConfigBytes);
  if (digestOf(bytes, parseDigest(digest).algorithm) !== digest) {
    throw new Fault('invalid-argument', `blob ${digest} of ${repository} failed digest verification`);
  }
  return bytes;
}

/** GET a blob; the body is returned unread so it can stream into the BlobStore. */
export async function openBlob(
  session: RegistrySession,
  repository: string,
  digest: string,
  signal?: AbortSignal,
): Promise<IncomingMessage> {
  const res = await session.request(`/v2/${repository}/blobs/${parseDigest(digest).value}`, { signal });
  if (res.statusCode === 200) return res;
  throw statusFault(res, await readBody(res, 64 * 1024).catch(() => Buffer.alloc(0)), `blob ${digest} of ${repository}`);
}

export function statusFault(res: IncomingMessage, body: Buffer, what: string): Fault {
  const status = res.statusCode ?? 500;
  // Where a redirect led (a registry's blob storage), the page is not the registry's and a 401 is not a denied pull:
  // the host and its status only; a 404 stays not found (docker's blob reader: unknown blob).
  const said = redirectedAnswer(res);
  if (said !== undefined) {
    if (status === 404) return new Fault('not-found', `${what} not found: ${said}`, { code: 'MANIFEST_UNKNOWN' });
    return new Fault('unavailable', `${what}: ${said}`);
  }
  const text = registryErrorText(body);
  if (status === 404) return new Fault('not-found', `${what} not found: ${text}`, { code: 'MANIFEST_UNKNOWN' });
  if (status === 401 || status === 403) return new Fault('permission-denied', text || 'denied', { code: 'DENIED' });
  return new Fault('unavailable', `${what}: registry answered ${status}: ${text}`);
}

function isIndex(mediaType: string): boolean {
  return isIndexMediaType(mediaType);
}

function isImageManifest(mediaType: string): boolean {
  return mediaType === mediaTypes.dockerManifest || mediaType === mediaTypes.ociManifest;
}

function pickPlatform(manifests: Descriptor[], platform: Platform): Descriptor | undefined {
  const candidates = manifests.filter(
    (m) => m.platform?.os === platform.os && m.platform?.architecture === platform.architecture,
  );
  return candidates.find((m) => !platform.variant || m.platform?.variant === platform.variant) ?? candidates[0];
}
