import type { FastifyRequest } from 'fastify';
import { Fault } from '../../base/fault.ts';
import { isV1Id } from '../../oci/v1-image.ts';

/**
 * Small v1 bodies (image json, image lists, tags, accounts) are read whole behind a cap; layers never are. Past
 * the cap the connection is closed rather than the rest read only to be dropped.
 */
export async function readText(request: FastifyRequest, max: number): Promise<string> {
  const declared = Number(request.headers['content-length']);
  if (declared > max) throw tooLarge(max);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of request.raw) {
    total += (chunk as Buffer).length;
    if (total > max) throw tooLarge(max);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, total).toString('utf8');
}

function tooLarge(max: number): Fault {
  return new Fault('too-large', `body exceeds ${max} bytes`);
}

export async function readJsonBody(request: FastifyRequest, max: number): Promise<Record<string, unknown>> {
  const text = await readText(request, max);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Fault('invalid-argument', 'Invalid JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Fault('invalid-argument', 'Invalid JSON: want an object');
  return body as Record<string, unknown>;
}

export interface ImageListItem {
  id: string;
  checksum?: string;
}

/**
 * The image list of `PUT /v1/repositories/<name>/` and `…/images`: `[{"id": …, "checksum"?: …, "Tag"?: …}]` as
 * docker 1.x marshals ImgData. Ids must be 64 hex; a checksum, when not empty, must look like `<algorithm>:<hex>`
 * (the index only stores it: tarsum, sha256, and the md5 of the oldest documents all occur).
 */
export function parseImageList(text: string): ImageListItem[] {
  let list: unknown;
  try {
    list = text.trim() === '' ? [] : JSON.parse(text);
  } catch {
    throw new Fault('invalid-argument', 'Invalid data: the image list is not JSON');
  }
  if (!Array.isArray(list)) throw new Fault('invalid-argument', 'Invalid data: the image list must be an array');
  if (list.length > 10_000) throw new Fault('invalid-argument', 'Invalid data: more than 10000 images');
  return list.map((item: unknown) => {
    const { id, checksum } = (typeof item === 'object' && item !== null ? item : {}) as { id?: unknown; checksum?: unknown };
    if (typeof id !== 'string' || !isV1Id(id)) throw new Fault('invalid-argument', 'Invalid data: every image needs an "id" of 64 hex characters');
    if (checksum === undefined || checksum === '' || checksum === null) return { id };
    if (typeof checksum !== 'string' || !/^[A-Za-z0-9.+_-]{1,40}:[A-Za-z0-9]{1,128}$/.test(checksum)) throw new Fault('invalid-argument', `Invalid data: bad checksum for image ${id}`);
    return { id, checksum };
  });
}

/** A tag PUT's body: the image id as a JSON string (docker 1.x: `"<id>"`). */
export function parseTagBody(text: string): string {
  let id: unknown;
  try {
    id = JSON.parse(text);
  } catch {
    throw new Fault('invalid-argument', 'Invalid data: the body must be a JSON string holding an image id');
  }
  if (typeof id !== 'string' || !isV1Id(id)) throw new Fault('invalid-argument', 'Invalid data: the body must be a JSON string holding an image id');
  return id;
}
