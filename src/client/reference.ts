import { Fault } from '../base/fault.ts';
import { parseDigest } from '../oci/digest.ts';
import { maxNameLength, parseReference as parseOciReference, type Reference as OciReference } from '../oci/reference.ts';

/**
 * A normalised image reference in the manner of distribution/reference: `busybox` is
 * docker.io/library/busybox:latest, `localhost:5000/a/b@sha256:…` keeps its registry.
 */
export interface ImageReference {
  /** Registry host[:port], e.g. `docker.io`, `localhost:5000`. */
  domain: string;
  /** Repository path within the registry, e.g. `library/busybox`. */
  path: string;
  tag?: string;
  digest?: string;
}

export const defaultDomain = 'docker.io';
const legacyDomains = new Set(['index.docker.io', 'registry-1.docker.io']);
const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const domainPattern = new RegExp(`^(?:${domainComponent}(?:\\.${domainComponent})*|\\[[0-9a-fA-F:]+\\])(?::[0-9]+)?$`);

/**
 * Parses and normalises `[domain/]path[:tag][@digest]` (syntax from oci/reference, Docker's normalisation on
 * top); throws invalid-argument worded as moby's `invalid reference format`.
 */
export function parseReference(input: string): ImageReference {
  const bare = input.split('@')[0].replace(/:[^/]*$/, '');
  if (!bare.includes('/') && bare !== bare.toLowerCase()) {
    throw new Fault('invalid-argument', `invalid reference format: repository name (${bare}) must be lowercase`);
  }
  let parsed: OciReference;
  try {
    parsed = parseOciReference(input);
  } catch (cause) {
    throw new Fault('invalid-argument', `invalid reference format: "${input}"`, { cause });
  }
  const digest = parsed.digest ? parseDigest(parsed.digest).value : undefined;
  if (parsed.domain && !domainPattern.test(parsed.domain)) throw new Fault('invalid-argument', `invalid reference format: "${input}"`);
  const domain = !parsed.domain || legacyDomains.has(parsed.domain) ? defaultDomain : parsed.domain;
  const path = domain === defaultDomain && !parsed.name.includes('/') ? `library/${parsed.name}` : parsed.name;
  if (`${domain}/${path}`.length > maxNameLength) throw new Fault('invalid-argument', `invalid reference format: "${input}"`);
  return { domain, path, tag: parsed.tag, digest };
}

/** Adds `latest` when neither tag nor digest is given (docker pull/run semantics). */
export function withDefaultTag(ref: ImageReference): ImageReference {
  return ref.tag || ref.digest ? ref : { ...ref, tag: 'latest' };
}

/** `docker.io/library/busybox` */
export function repositoryName(ref: ImageReference): string {
  return `${ref.domain}/${ref.path}`;
}

/** Full form: `docker.io/library/busybox:latest`, `host/x@sha256:…`. */
export function formatReference(ref: ImageReference): string {
  return `${repositoryName(ref)}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

/** The short form the docker CLI prints: `busybox:latest`, `user/app:1`, `localhost:5000/x:1`. */
export function familiarName(repository: string): string {
  if (!repository.startsWith(`${defaultDomain}/`)) return repository;
  const path = repository.slice(defaultDomain.length + 1);
  return path.startsWith('library/') && path.indexOf('/', 8) < 0 ? path.slice(8) : path;
}

export function familiarReference(ref: ImageReference): string {
  return `${familiarName(repositoryName(ref))}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

/** Whether `input` names an image by ID or ID prefix (hex only, no tag): `sha256:abc…`, `abc123`. */
export function looksLikeImageId(input: string): boolean {
  return /^(sha256:)?[a-f0-9]{1,64}$/.test(input);
}
