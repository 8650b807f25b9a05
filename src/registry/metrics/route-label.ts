import { matchV2Route, type V2RouteName } from '../../oci/distribution-routes.ts';
import { matchV1RepositoryPath, v1ImageParts } from '../../oci/v1-routes.ts';

// distribution's route names (registry/api/v2/routes.go), so dashboards made for registry:2 read ours.
const v2Labels: Record<V2RouteName, string> = {
  base: 'base',
  catalog: 'catalog',
  tags: 'tags',
  manifest: 'manifest',
  uploadStart: 'blob_upload',
  upload: 'blob_upload_chunk',
  blob: 'blob',
  referrers: 'referrers',
};

const fixedPaths: Record<string, string> = {
  '/': 'root',
  '/health': 'health',
  '/auth/token': 'token',
  '/auth/jwks': 'jwks',
};

/**
 * The route a request URL names, as a metric label: a small fixed set (never the path itself, whose repository
 * names and digests would make a series per request). `metricsPath` is the exposition's own path.
 */
export function routeLabel(url: string, metricsPath: string): string {
  const queryAt = url.indexOf('?');
  const path = queryAt < 0 ? url : url.slice(0, queryAt);
  if (path === '/v2' || path.startsWith('/v2/')) {
    const match = matchV2Route(path);
    return match ? v2Labels[match.route.name] : 'v2_unknown';
  }
  if (path.startsWith('/v1/')) return v1Label(path.slice('/v1/'.length));
  if (path === metricsPath) return 'metrics';
  return Object.hasOwn(fixedPaths, path) ? fixedPaths[path] : 'unknown';
}

function v1Label(rest: string): string {
  if (rest === '_ping') return 'v1_ping';
  if (rest === 'search') return 'v1_search';
  if (rest === 'users' || rest.startsWith('users/')) return 'v1_users';
  const image = /^images\/[^/]+\/([^/]+)$/.exec(rest);
  if (image) return (v1ImageParts as readonly string[]).includes(image[1]) ? `v1_image_${image[1]}` : 'v1_unknown';
  if (rest.startsWith('repositories/')) {
    const match = matchV1RepositoryPath(rest.slice('repositories/'.length));
    return match ? `v1_${match.route}` : 'v1_unknown';
  }
  return 'v1_unknown';
}
