/**
 * A repository glob as a regular expression's source (unanchored): `*` and `?` stay within a path component,
 * `**` crosses them. The ACL's names and registry.immutableTags / registry.retention read globs this one way.
 */
export function globSource(glob: string): string {
  return glob
    .split('**')
    .map((part) =>
      part
        .split('*')
        .map((piece) => piece.split('?').map(escapeRegex).join('[^/]'))
        .join('[^/]*'),
    )
    .join('.*');
}

export function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
