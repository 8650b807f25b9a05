import { Counter, type Registry } from 'prom-client';

export type MirrorRequestKind = 'manifest' | 'blob';
/** hit: served from the cache; miss: fetched from the upstream; stale: cached, served while the upstream failed. */
export type MirrorRequestResult = 'hit' | 'miss' | 'stale' | 'error';

/** The pull-through cache's metrics, registered in the registry part's own prom-client Registry. */
export class MirrorMetrics {
  readonly #requests: Counter<'upstream' | 'kind' | 'result'>;
  readonly #upstreamBytes: Counter<'upstream'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.#requests = new Counter({
      name: 'wharf_registry_mirror_requests_total',
      help: 'Pulls of mirrored repositories, by upstream, kind (manifest, blob) and result (hit, miss, stale, error).',
      labelNames: ['upstream', 'kind', 'result'],
      registers,
    });
    this.#upstreamBytes = new Counter({
      name: 'wharf_registry_mirror_upstream_bytes_total',
      help: 'Manifest and blob bytes received from each upstream.',
      labelNames: ['upstream'],
      registers,
    });
  }

  request(upstream: string, kind: MirrorRequestKind, result: MirrorRequestResult): void {
    this.#requests.inc({ upstream, kind, result });
  }

  upstreamBytes(upstream: string, bytes: number): void {
    if (bytes > 0) this.#upstreamBytes.inc({ upstream }, bytes);
  }
}
