import { globSource } from '../../auth/glob-source.ts';

/**
 * A repository pattern of registry.immutableTags and registry.retention: `*` and `?` stay within a path
 * component, `**` crosses them (the ACL's glob reading), matched against the whole name.
 */
export function compileRepositoryGlob(glob: string): RegExp {
  return new RegExp(`^${globSource(glob)}$`);
}

/** A tag pattern: a regular expression that must match the whole tag. */
export function compileTagPattern(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`);
}
