import { z } from 'zod';
import { Fault } from '../base/fault.ts';
import { isDigest } from './digest.ts';
import {
  bareMediaType,
  isIndexMediaType,
  isManifestMediaType,
  isWellFormedMediaType,
  type ManifestMediaType,
  mediaTypes,
} from './media-types.ts';

const digestString = z.string().refine(isDigest, 'invalid digest');
const mediaTypeString = z.string().refine(isWellFormedMediaType, 'invalid media type');
const annotations = z.record(z.string(), z.string()).optional();

export const descriptorSchema = z.object({
  mediaType: mediaTypeString,
  digest: digestString,
  size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  urls: z.array(z.string()).optional(),
  annotations,
  artifactType: mediaTypeString.optional(),
  data: z.string().optional(),
  platform: z
    .object({ architecture: z.string(), os: z.string(), variant: z.string().optional() })
    .loose()
    .optional(),
});

export type DescriptorJson = z.infer<typeof descriptorSchema>;

// image-spec: unknown fields are ignored (loose), but an image manifest must not look like an index or the
// reverse (CVE-2021-41190), so the other kind's fields are refused.
const imageManifestSchema = z
  .object({
    schemaVersion: z.literal(2),
    mediaType: z.string().optional(),
    artifactType: mediaTypeString.optional(),
    config: descriptorSchema,
    layers: z.array(descriptorSchema),
    subject: descriptorSchema.optional(),
    annotations,
    manifests: z.never({ error: 'an image manifest must not have manifests' }).optional(),
  })
  .loose();

const indexSchema = z
  .object({
    schemaVersion: z.literal(2),
    mediaType: z.string().optional(),
    artifactType: mediaTypeString.optional(),
    manifests: z.array(descriptorSchema),
    subject: descriptorSchema.optional(),
    annotations,
    config: z.never({ error: 'an index must not have a config' }).optional(),
    layers: z.never({ error: 'an index must not have layers' }).optional(),
  })
  .loose();

/** A manifest of any of the four kinds, normalised to what the registry needs to store and check it. */
export interface ParsedManifest {
  mediaType: ManifestMediaType;
  kind: 'image' | 'index';
  config?: DescriptorJson;
  layers: DescriptorJson[];
  /** Blobs the registry must hold: config and layers, except foreign layers that carry their own urls. */
  blobs: DescriptorJson[];
  /** Child manifests of an index. */
  manifests: DescriptorJson[];
  subject?: DescriptorJson;
  /** Resolved as the referrers API reports it: the manifest's own, else its config type unless empty. */
  artifactType?: string;
  annotations?: Record<string, string>;
}

/**
 * Validates a manifest body (throws invalid-argument with code MANIFEST_INVALID). The media type comes from the
 * body's `mediaType`, the request's Content-Type, or the shape of an OCI body that names neither; where both
 * name one they must agree (distribution-spec: the Content-Type must match the manifest's mediaType).
 */
export function parseManifest(body: Uint8Array, contentType?: string): ParsedManifest {
  const json = parseManifestJson(body);
  const mediaType = resolveMediaType(json, contentType);
  if (isIndexMediaType(mediaType)) {
    const index = check(indexSchema, json);
    return {
      mediaType,
      kind: 'index',
      layers: [],
      blobs: [],
      manifests: index.manifests,
      subject: index.subject,
      artifactType: index.artifactType,
      annotations: index.annotations,
    };
  }
  const image = check(imageManifestSchema, json);
  return {
    mediaType,
    kind: 'image',
    config: image.config,
    layers: image.layers,
    blobs: [image.config, ...image.layers.filter((l) => !isExternalLayer(l))],
    manifests: [],
    subject: image.subject,
    artifactType: resolveArtifactType(image.artifactType, image.config.mediaType),
    annotations: image.annotations,
  };
}

/** distribution-spec (referrers): artifactType, else the config's media type, unless that is the empty config. */
export function resolveArtifactType(artifactType: string | undefined, configMediaType: string): string | undefined {
  if (artifactType) return artifactType;
  return configMediaType === mediaTypes.ociEmpty ? undefined : configMediaType;
}

// Content types that say nothing about the manifest kind; curl and some clients send them.
const neutralContentTypes = new Set(['', 'application/json', 'application/octet-stream']);

function resolveMediaType(json: Record<string, unknown>, contentType: string | undefined): ManifestMediaType {
  const header = bareMediaType(contentType ?? '');
  const declared = json.mediaType;
  if (declared !== undefined && typeof declared !== 'string') throw invalid('manifest mediaType must be a string');
  if (!neutralContentTypes.has(header)) checkSupported(header, 'Content-Type');
  if (declared !== undefined) checkSupported(declared, 'mediaType');
  if (declared !== undefined && !neutralContentTypes.has(header) && header !== declared) {
    throw invalid(`manifest mediaType "${clip(declared)}" does not match Content-Type "${clip(header)}"`);
  }
  const mediaType = (declared ?? (neutralContentTypes.has(header) ? inferMediaType(json) : header)) as ManifestMediaType;
  // Docker's schema 2 requires the field; only OCI lets a body leave it out.
  if (declared === undefined && (mediaType === mediaTypes.dockerManifest || mediaType === mediaTypes.dockerManifestList)) {
    throw invalid(`a ${mediaType} manifest must carry its mediaType`);
  }
  return mediaType;
}

function checkSupported(type: string, where: string): void {
  if (type === mediaTypes.dockerManifestV1 || type === mediaTypes.dockerManifestV1Signed) {
    throw invalid(`${where} "${type}": Docker schema 1 manifests are not supported; push schema 2 or OCI`);
  }
  if (!isManifestMediaType(type)) throw invalid(`${where} "${clip(type)}" is not a supported manifest media type`);
}

function inferMediaType(json: Record<string, unknown>): ManifestMediaType {
  if (json.manifests !== undefined && json.config === undefined) return mediaTypes.ociIndex;
  if (json.config !== undefined) return mediaTypes.ociManifest;
  if (json.schemaVersion === 1) throw invalid('Docker schema 1 manifests are not supported; push schema 2 or OCI');
  throw invalid('manifest has neither config nor manifests');
}

// distribution: foreign (Docker) and non-distributable (OCI) layers with urls are fetched from elsewhere.
function isExternalLayer(layer: DescriptorJson): boolean {
  if (!layer.urls?.length) return false;
  return layer.mediaType === mediaTypes.dockerForeignLayer || layer.mediaType.startsWith('application/vnd.oci.image.layer.nondistributable.');
}

/** A manifest body as a JSON object; anything else is invalid-argument MANIFEST_INVALID. */
export function parseManifestJson(body: Uint8Array): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch (err) {
    throw invalid('manifest is not valid JSON', err);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw invalid('manifest is not a JSON object');
  return json as Record<string, unknown>;
}

function check<T>(schema: z.ZodType<T>, json: unknown): T {
  const result = schema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw invalid(`manifest invalid at ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return result.data;
}

function invalid(message: string, cause?: unknown): Fault {
  return new Fault('invalid-argument', message, { code: 'MANIFEST_INVALID', cause, detail: { reason: message } });
}

function clip(s: string): string {
  return s.length > 100 ? `${s.slice(0, 100)}…` : s;
}
