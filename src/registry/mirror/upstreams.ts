import type { Upstream } from './upstream.ts';

export interface UpstreamTarget {
  upstream: Upstream;
  /** The name at the upstream: the prefix stripped, `library/` added for a one-segment name on Docker Hub. */
  remoteName: string;
}

export interface UpstreamRoute {
  /** '' for the default upstream, else repository path components each ending in '/'. */
  prefix: string;
  upstream: Upstream;
}

/** Hosts that serve Docker Hub, where one-segment names live under library/ (dockerd sends them so already). */
const dockerHubHosts = new Set(['registry-1.docker.io', 'docker.io', 'index.docker.io']);

/** Which upstream mirrors a repository name: the first route whose prefix the name starts with, then the default. */
export class Upstreams {
  #routes: readonly UpstreamRoute[];

  constructor(routes: readonly UpstreamRoute[]) {
    // The default takes only names no prefix matched, wherever it was listed.
    this.#routes = [...routes.filter((r) => r.prefix !== ''), ...routes.filter((r) => r.prefix === '')];
  }

  /** Any upstream configured: the registry is (partly) a pull-through cache. */
  get enabled(): boolean {
    return this.#routes.length > 0;
  }

  get all(): readonly Upstream[] {
    return this.#routes.map((r) => r.upstream);
  }

  /** undefined: the name is not mirrored (an ordinary repository). */
  resolve(repository: string): UpstreamTarget | undefined {
    const route = this.#routes.find((r) => r.prefix === '' || (repository.startsWith(r.prefix) && repository.length > r.prefix.length));
    if (!route) return undefined;
    const rest = repository.slice(route.prefix.length);
    const hub = dockerHubHosts.has(new URL(route.upstream.url).hostname);
    return { upstream: route.upstream, remoteName: hub && !rest.includes('/') ? `library/${rest}` : rest };
  }
}
