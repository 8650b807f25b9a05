import { bareMediaType, isDockerManifestMediaType } from '../../oci/media-types.ts';

/**
 * Whether a stored manifest may be answered to a client with this `Accept` header. Like distribution, OCI types
 * are withheld from a client whose list names neither them nor a wildcard (older Docker clients cannot parse
 * them), while Docker types are always answered (there is no schema 1 to convert to). Unlike distribution, a
 * request without any Accept gets the stored type, as distribution 3 and the OCI conformance suite expect.
 */
export function acceptsManifest(accept: string | undefined, mediaType: string): boolean {
  if (!accept || isDockerManifestMediaType(mediaType)) return true;
  for (const entry of accept.split(',')) {
    const type = bareMediaType(entry);
    if (type === mediaType || type === '*/*' || type === 'application/*') return true;
  }
  return false;
}

/** Whether an `If-None-Match` header names the entity tag `"<digest>"` (or `*`). */
export function matchesEtag(ifNoneMatch: string | undefined, digest: string): boolean {
  if (!ifNoneMatch) return false;
  for (const raw of ifNoneMatch.split(',')) {
    const tag = raw.trim().replace(/^W\//, '');
    if (tag === '*' || tag === `"${digest}"` || tag === digest) return true;
  }
  return false;
}
