/** Distribution API v2 routes as data, read by the server's dispatcher and by clients' URL builders. */
export const v2RouteNames = ['base', 'catalog', 'tags', 'manifest', 'uploadStart', 'upload', 'blob', 'referrers'] as const;
export type V2RouteName = (typeof v2RouteNames)[number];

export interface V2Route {
  name: V2RouteName;
  pattern: RegExp;
  methods: readonly string[];
}

// Order matters: `blobs/uploads/` must win over `blobs/<digest>`. Names may hold slashes, so they match lazily;
// the dispatcher validates them against the name grammar afterwards.
export const v2Routes: readonly V2Route[] = [
  { name: 'base', pattern: /^\/v2\/?$/, methods: ['GET', 'HEAD'] },
  { name: 'catalog', pattern: /^\/v2\/_catalog$/, methods: ['GET'] },
  { name: 'tags', pattern: /^\/v2\/(.+?)\/tags\/list$/, methods: ['GET'] },
  { name: 'manifest', pattern: /^\/v2\/(.+?)\/manifests\/([^/]+)$/, methods: ['GET', 'HEAD', 'PUT', 'DELETE'] },
  { name: 'uploadStart', pattern: /^\/v2\/(.+?)\/blobs\/uploads\/?$/, methods: ['POST'] },
  { name: 'upload', pattern: /^\/v2\/(.+?)\/blobs\/uploads\/([^/]+)$/, methods: ['GET', 'PATCH', 'PUT', 'DELETE'] },
  { name: 'blob', pattern: /^\/v2\/(.+?)\/blobs\/([^/]+)$/, methods: ['GET', 'HEAD', 'DELETE'] },
  { name: 'referrers', pattern: /^\/v2\/(.+?)\/referrers\/([^/]+)$/, methods: ['GET'] },
];

export interface V2Match {
  route: V2Route;
  /** Repository name, as it appeared in the path (not yet validated). */
  name?: string;
  /** Reference, digest or upload id, as it appeared in the path. */
  param?: string;
}

/** Matches a path without its query string; undefined when no route has that shape. */
export function matchV2Route(path: string): V2Match | undefined {
  for (const route of v2Routes) {
    const m = route.pattern.exec(path);
    if (m) return { route, name: m[1], param: m[2] };
  }
  return undefined;
}

/** Page parameters of `tags/list` and `_catalog` (distribution-spec `n` and `last`). */
export interface V2PageQuery {
  n?: number;
  last?: string;
}

export const v2Urls = {
  base: () => '/v2/',
  manifest: (name: string, reference: string) => `/v2/${name}/manifests/${reference}`,
  blob: (name: string, digest: string) => `/v2/${name}/blobs/${digest}`,
  uploadStart: (name: string) => `/v2/${name}/blobs/uploads/`,
  /** POST that mounts `digest` (from `from` when given, OCI 1.1 lets it be omitted). */
  mount: (name: string, digest: string, from?: string) =>
    `/v2/${name}/blobs/uploads/${query({ mount: digest, from })}`,
  /** POST that uploads a whole blob in one request. */
  monolithic: (name: string, digest: string) => `/v2/${name}/blobs/uploads/${query({ digest })}`,
  upload: (name: string, id: string) => `/v2/${name}/blobs/uploads/${id}`,
  /** PUT that closes an upload session; keeps any query the server put in its Location. */
  uploadFinish: (location: string, digest: string) => `${location}${location.includes('?') ? '&' : '?'}digest=${encodeURIComponent(digest)}`,
  tags: (name: string, page: V2PageQuery = {}) => `/v2/${name}/tags/list${query(pageParams(page))}`,
  referrers: (name: string, digest: string, artifactType?: string) => `/v2/${name}/referrers/${digest}${query({ artifactType })}`,
  catalog: (page: V2PageQuery = {}) => `/v2/_catalog${query(pageParams(page))}`,
};

// distribution writes `last` before `n` (url.Values sorts keys); clients follow the Link as given.
function pageParams(page: V2PageQuery): Record<string, string | undefined> {
  return { last: page.last, n: page.n === undefined ? undefined : String(page.n) };
}

function query(params: Record<string, string | undefined>): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined) parts.push(`${key}=${encodeURIComponent(value)}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

/** The `Link` header value pointing at the next page of a listing. */
export function nextPageLink(url: string): string {
  return `<${url}>; rel="next"`;
}
