import type { Readable } from 'node:stream';
import { Fault } from '../base/fault.ts';
import { parseDigest } from '../oci/digest.ts';
import { readBody } from './http-request.ts';
import { statusFault } from './image-resolver.ts';
import type { RegistrySession } from './registry-client.ts';

/** The push side of the distribution API: blob existence, uploads (mount first), manifests. */

export async function blobExists(session: RegistrySession, repository: string, digest: string, signal?: AbortSignal): Promise<boolean> {
  const res = await session.request(`/v2/${repository}/blobs/${parseDigest(digest).value}`, { method: 'HEAD', signal });
  res.resume();
  if (res.statusCode === 200) return true;
  if (res.statusCode === 404) return false;
  throw statusFault(res, Buffer.alloc(0), `blob ${digest} of ${repository}`);
}

export interface BlobSource {
  digest: string;
  size: number;
  /** Opens the blob's bytes; called at most once, only when they must travel. */
  open(): Promise<Readable>;
}

/**
 * Uploads a blob the registry lacks: `POST …/uploads/?mount=` first (a registry that already holds the blob,
 * as wharf's does, links it and answers 201), then one monolithic PUT streaming the bytes. Returns how it got there.
 */
export async function uploadBlob(session: RegistrySession, repository: string, blob: BlobSource, signal?: AbortSignal): Promise<'mounted' | 'uploaded'> {
  const digest = parseDigest(blob.digest).value;
  const start = await session.request(`/v2/${repository}/blobs/uploads/?mount=${encodeURIComponent(digest)}`, { method: 'POST', signal });
  const startBody = await readBody(start, 64 * 1024);
  if (start.statusCode === 201) return 'mounted';
  if (start.statusCode !== 202) throw statusFault(start, startBody, `upload of blob ${digest} to ${repository}`);
  const location = start.headers.location;
  if (!location) throw new Fault('unavailable', `the registry started an upload to ${repository} without a Location`);
  const target = new URL(location, 'http://placeholder');
  target.searchParams.set('digest', digest);
  const path = /^https?:\/\//i.test(location) ? target.href : `${target.pathname}${target.search}`;
  const put = await session.request(path, {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(blob.size) },
    body: await blob.open(),
    signal,
  });
  const putBody = await readBody(put, 64 * 1024);
  if (put.statusCode !== 201) throw statusFault(put, putBody, `upload of blob ${digest} to ${repository}`);
  return 'uploaded';
}

/** PUT a manifest by tag; returns the digest the registry reports (or computes the same from the bytes). */
export async function putManifest(
  session: RegistrySession,
  repository: string,
  tag: string,
  manifest: { bytes: Buffer; mediaType: string; digest: string },
  signal?: AbortSignal,
): Promise<string> {
  const res = await session.request(`/v2/${repository}/manifests/${tag}`, {
    method: 'PUT',
    headers: { 'content-type': manifest.mediaType, 'content-length': String(manifest.bytes.length) },
    body: manifest.bytes,
    signal,
  });
  const body = await readBody(res, 64 * 1024);
  if (res.statusCode !== 201 && res.statusCode !== 200) throw statusFault(res, body, `manifest ${repository}:${tag}`);
  const reported = res.headers['docker-content-digest'];
  if (typeof reported === 'string' && reported !== manifest.digest) {
    throw new Fault('unavailable', `the registry stored manifest ${repository}:${tag} as ${reported}, not ${manifest.digest}`);
  }
  return manifest.digest;
}
