/**
 * A repository pattern of registry.immutableTags and registry.retention: `*` and `?` stay within a path
 * component, `**` crosses them (the ACL's glob reading), matched against the whole name.
 */
export function compileRepositoryGlob(glob: string): RegExp {
  const source = glob
    .split('**')
    .map((part) =>
      part
        .split('*')
        .map((piece) => piece.split('?').map(escapeRegex).join('[^/]'))
        .join('[^/]*'),
    )
    .join('.*');
  return new RegExp(`^${source}$`);
}

/** A tag pattern: a regular expression that must match the whole tag. */
export function compileTagPattern(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`);
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
