/**
 * The 2014 registry and index API as data (moby's registry_api / hub_registry_spec), read by the server's router
 * and the client's URL builder alike.
 */
export const v1ImageParts = ['json', 'layer', 'checksum', 'ancestry'] as const;
export type V1ImagePart = (typeof v1ImageParts)[number];

export const v1Paths = {
  ping: () => '/v1/_ping',
  users: () => '/v1/users/',
  user: (name: string) => `/v1/users/${encodeURIComponent(name)}/`,
  search: (query: string, page: { n?: number; page?: number } = {}) => {
    const params = new URLSearchParams({ q: query });
    if (page.n !== undefined) params.set('n', String(page.n));
    if (page.page !== undefined) params.set('page', String(page.page));
    return `/v1/search?${params}`;
  },
  image: (id: string, part: V1ImagePart) => `/v1/images/${id}/${part}`,
  /** The index's repository resource (PUT starts a push, DELETE removes it). The trailing slash is docker 1.x's. */
  repository: (name: string) => `/v1/repositories/${name}/`,
  images: (name: string) => `/v1/repositories/${name}/images`,
  tags: (name: string) => `/v1/repositories/${name}/tags`,
  tag: (name: string, tag: string) => `/v1/repositories/${name}/tags/${tag}`,
} as const;

export type V1RepositoryRoute =
  | { route: 'repository'; name: string }
  | { route: 'images'; name: string }
  | { route: 'tags'; name: string }
  | { route: 'tag'; name: string; tag: string };

/**
 * Splits what follows `/v1/repositories/`: `<name>/`, `<name>/images`, `<name>/tags`, `<name>/tags/<tag>`.
 * The name is matched lazily, so a repository whose last component is `images` or `tags` is read as the
 * section; docker 1.x never sent such names. The name is not validated here; the tag only when present.
 */
export function matchV1RepositoryPath(rest: string): V1RepositoryRoute | undefined {
  const path = rest.replace(/\/+$/, '');
  const tag = /^(.+)\/tags\/([^/]+)$/.exec(path);
  if (tag) return { route: 'tag', name: tag[1], tag: tag[2] };
  const section = /^(.+)\/(images|tags)$/.exec(path);
  if (section) return { route: section[2] as 'images' | 'tags', name: section[1] };
  return path ? { route: 'repository', name: path } : undefined;
}

/**
 * The v2 repositories a v1 name may mean. docker 1.x pushed `HOST/busybox` as `busybox` but read its tags as
 * `library/busybox` (GetRemoteTags adds `library/` to single-component names), while v2 clients name it
 * `busybox`: both spellings are the one repository, `busybox` first.
 */
export function v1NameCandidates(name: string): string[] {
  const bare = name.startsWith('library/') && !name.slice('library/'.length).includes('/') ? name.slice('library/'.length) : name;
  return bare.includes('/') ? [bare] : [bare, `library/${bare}`];
}
