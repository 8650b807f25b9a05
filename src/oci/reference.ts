import { Fault } from '../base/fault.ts';
import { parseDigest } from './digest.ts';

// distribution-spec: <name> is path components of [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)* joined by '/'.
const componentPattern = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const tagPattern = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
// distribution/reference: host names of dot-separated labels or a bracketed IPv6 address, with an optional port.
const domainLabel = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const domainPattern = new RegExp(`^(?:${domainLabel}(?:\\.${domainLabel})*|\\[[0-9a-fA-F:.]+\\])(?::[0-9]{1,5})?$`);

export const maxNameLength = 255;
/** Docker Hub: where a reference without a host points, and where single-component names live under library/. */
export const dockerHubDomain = 'docker.io';
const dockerHubAliases = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

export function isRepositoryName(name: string): boolean {
  if (name.length === 0 || name.length > maxNameLength) return false;
  for (const component of name.split('/')) if (!componentPattern.test(component)) return false;
  return true;
}

/** Throws invalid-argument with code NAME_INVALID unless `name` follows the distribution-spec grammar. */
export function validateRepositoryName(name: string): string {
  if (!isRepositoryName(name)) {
    throw new Fault('invalid-argument', `invalid repository name "${clip(name)}"`, { code: 'NAME_INVALID', detail: { name: clip(name) } });
  }
  return name;
}

export function isTag(tag: string): boolean {
  return tagPattern.test(tag);
}

/** Throws invalid-argument with code TAG_INVALID unless `tag` follows the distribution-spec grammar. */
export function validateTag(tag: string): string {
  if (!isTag(tag)) throw new Fault('invalid-argument', `invalid tag "${clip(tag)}"`, { code: 'TAG_INVALID', detail: { tag: clip(tag) } });
  return tag;
}

export function isDomain(domain: string): boolean {
  return domainPattern.test(domain);
}

/**
 * The `<reference>` of `/v2/<name>/manifests/<reference>`: a digest when it holds a colon (tags cannot), else a
 * tag. Throws DIGEST_INVALID or TAG_INVALID.
 */
export function parseManifestReference(reference: string): { tag: string; digest?: undefined } | { digest: string; tag?: undefined } {
  if (reference.includes(':')) return { digest: parseDigest(reference).value };
  return { tag: validateTag(reference) };
}

export interface Reference {
  /** Registry host[:port], undefined when the reference names none. */
  domain?: string;
  name: string;
  tag?: string;
  digest?: string;
}

/**
 * Parses `[host[:port]/]name[:tag][@digest]`. As in distribution/reference, the first component is a host
 * when it holds a '.' or a ':', is `localhost`, or has upper-case letters (which names cannot).
 */
export function parseReference(input: string): Reference {
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = parseDigest(rest.slice(at + 1)).value;
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = validateTag(rest.slice(colon + 1));
    rest = rest.slice(0, colon);
  }
  let domain: string | undefined;
  const slash = rest.indexOf('/');
  const first = slash >= 0 ? rest.slice(0, slash) : '';
  if (first && (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase())) {
    if (!isDomain(first)) {
      throw new Fault('invalid-argument', `invalid registry host "${clip(first)}"`, { code: 'NAME_INVALID', detail: { domain: clip(first) } });
    }
    domain = first;
    rest = rest.slice(slash + 1);
  }
  validateRepositoryName(rest);
  return { domain, name: rest, tag, digest };
}

/**
 * Docker's client-side normalisation: no host means Docker Hub, Hub aliases become `docker.io`, and a
 * single-component Hub name lives under `library/` (`busybox` -> `docker.io/library/busybox`).
 */
export function normalizeDockerReference(ref: Reference): Reference & { domain: string } {
  const domain = !ref.domain || dockerHubAliases.has(ref.domain) ? dockerHubDomain : ref.domain;
  const name = domain === dockerHubDomain && !ref.name.includes('/') ? `library/${ref.name}` : ref.name;
  return { ...ref, domain, name };
}

/** `host/name:tag@digest`, each part only when present. */
export function formatReference(ref: Reference): string {
  return `${ref.domain ? `${ref.domain}/` : ''}${ref.name}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

function clip(s: string): string {
  return s.length > 300 ? `${s.slice(0, 300)}…` : s;
}
