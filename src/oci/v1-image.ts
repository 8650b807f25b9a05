import { createHash } from 'node:crypto';
import { Fault } from '../base/fault.ts';

/** sha256 of 1024 zero bytes: the diff_id of an empty tar, the "layer" of a docker 1.x metadata-only step. */
export const emptyLayerDiffId = 'sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef';

/** The largest image json accepted (docker 1.x json is a few KiB; env and labels can grow it). */
export const maxV1ImageJsonBytes = 1024 * 1024;

const idPattern = /^[a-f0-9]{64}$/;

export function isV1Id(id: string): boolean {
  return idPattern.test(id);
}

/** A v1 image id: 64 lowercase hex, as docker 1.x generated them. */
export function validateV1Id(id: string): string {
  if (!isV1Id(id)) throw new Fault('invalid-argument', `invalid image id "${id.slice(0, 80)}": want 64 lowercase hex characters`);
  return id;
}

export interface V1ImageJson {
  id: string;
  parent?: string;
  created?: string;
  author?: string;
  comment?: string;
  container_config?: { Cmd?: unknown };
  config?: Record<string, unknown>;
  architecture?: string;
  os?: string;
  [key: string]: unknown;
}

/**
 * Parses an image json body and checks it against the id in the URL (docker-registry: 'Invalid JSON', 'JSON
 * data contains invalid id'). `parent` must be another well-formed id; an empty string means none.
 */
export function parseV1ImageJson(body: string, expectedId: string): V1ImageJson & { parent?: string } {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new Fault('invalid-argument', 'Invalid JSON: the image json does not parse');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Fault('invalid-argument', 'Invalid JSON: the image json is not an object');
  const image = json as V1ImageJson;
  if (image.id !== expectedId) throw new Fault('invalid-argument', 'JSON data contains invalid id');
  if (image.parent === '' || image.parent === null) delete image.parent;
  if (image.parent !== undefined) {
    if (typeof image.parent !== 'string' || !isV1Id(image.parent)) throw new Fault('invalid-argument', 'JSON data contains an invalid parent id');
    if (image.parent === image.id) throw new Fault('invalid-argument', 'an image cannot be its own parent');
  }
  return image;
}

/**
 * A stable v1 id for layer `index` of a v2 image, so the same v2 content always shows the same ids on v1 routes:
 * sha256 over the config digest and the chain of layer digests up to that layer (in the manner of docker's
 * `CreateID`, which hashes the config with the parent chain). Layer digests rather than diff_ids, because a v1
 * id names one layer blob as served.
 */
export function deriveV1Id(configDigest: string, layerDigests: readonly string[], index: number): string {
  return createHash('sha256')
    .update(`wharf-v1\n${configDigest}\n${layerDigests.slice(0, index + 1).join('\n')}`)
    .digest('hex');
}
