import { z } from 'zod';
import { jsonOrUndefined } from '../../base/json.ts';
import { isDigest } from '../../oci/digest.ts';

/**
 * Stored manifests and configs as the hub reads them: leniently. Whatever a push, a pull-through cache or an old
 * version stored (schema 1, artifacts, unknown media types, fields of the wrong type) reads as what it has of the
 * fields below, never as an error: a field that does not fit is left out, an entry that does not fit is skipped.
 */

const text = z.string().optional().catch(undefined);
const texts = z.array(z.string()).nullable().optional().catch(undefined);
const textRecord = z.record(z.string(), z.string()).optional().catch(undefined);

const platformSchema = z.object({ os: z.string(), architecture: z.string(), variant: z.string().optional().catch(undefined) });

const descriptorSchema = z.object({
  mediaType: z.string().catch(''),
  digest: z.string().refine(isDigest),
  size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  artifactType: text,
  annotations: textRecord,
  platform: platformSchema.optional().catch(undefined),
});

export type StoredDescriptor = z.infer<typeof descriptorSchema>;
export type StoredPlatform = z.infer<typeof platformSchema>;

const entries = z.array(z.unknown()).optional().catch(undefined);

const manifestSchema = z.object({
  mediaType: text,
  artifactType: text,
  config: descriptorSchema.optional().catch(undefined),
  layers: entries,
  manifests: entries,
});

/** What the hub shows of a manifest: an image's config and layers, an index's children. */
export interface ManifestShape {
  config?: StoredDescriptor;
  layers: StoredDescriptor[];
  manifests: StoredDescriptor[];
}

export const emptyShape: ManifestShape = { layers: [], manifests: [] };

export function readManifestShape(body: Buffer): ManifestShape {
  const parsed = manifestSchema.safeParse(jsonOrUndefined(body));
  if (!parsed.success) return emptyShape;
  return { config: parsed.data.config, layers: descriptors(parsed.data.layers), manifests: descriptors(parsed.data.manifests) };
}

function descriptors(list: unknown[] | undefined): StoredDescriptor[] {
  return (list ?? []).flatMap((entry) => {
    const parsed = descriptorSchema.safeParse(entry);
    return parsed.success ? [parsed.data] : [];
  });
}

const historySchema = z.object({
  created: text,
  created_by: text,
  comment: text,
  empty_layer: z.boolean().optional().catch(undefined),
});

const containerConfigSchema = z.object({
  User: text,
  WorkingDir: text,
  Env: texts,
  Cmd: texts,
  Entrypoint: texts,
  Labels: z.record(z.string(), z.string()).nullable().optional().catch(undefined),
  ExposedPorts: z.record(z.string(), z.unknown()).nullable().optional().catch(undefined),
});

const imageConfigSchema = z.object({
  created: text,
  os: text,
  architecture: text,
  variant: text,
  config: containerConfigSchema.nullable().optional().catch(undefined),
  history: entries,
});

/** The parts of an image config (OCI image-spec config, Docker's image JSON) the hub shows. */
export interface StoredImageConfig {
  created?: string;
  os?: string;
  architecture?: string;
  variant?: string;
  config?: z.infer<typeof containerConfigSchema> | null;
  history: z.infer<typeof historySchema>[];
}

/** Undefined when the body is not a JSON object. */
export function readImageConfig(body: Buffer): StoredImageConfig | undefined {
  const parsed = imageConfigSchema.safeParse(jsonOrUndefined(body));
  if (!parsed.success) return undefined;
  const history = (parsed.data.history ?? []).flatMap((entry) => {
    const row = historySchema.safeParse(entry);
    return row.success ? [row.data] : [];
  });
  return { ...parsed.data, history };
}

/** `os/architecture[/variant]`, as docker and the OCI index write a platform. */
export function platformName(platform: { os?: string; architecture?: string; variant?: string }): string | undefined {
  if (!platform.os || !platform.architecture) return undefined;
  return [platform.os, platform.architecture, platform.variant].filter(Boolean).join('/');
}
