import { readFileSync } from 'node:fs';
import type { Config } from '../base/config.ts';
import { Fault } from '../base/fault.ts';
import type { Logger } from '../base/log.ts';
import { RegistryClient } from '../client/registry-client.ts';
import { wharfVersion } from '../base/wharf-version.ts';
import type { MetaStores } from '../meta/meta-stores.ts';
import { BlobFetches } from '../registry/mirror/blob-fetches.ts';
import { MirrorMetrics } from '../registry/mirror/mirror-metrics.ts';
import { PullThrough } from '../registry/mirror/pull-through.ts';
import { RegistryUpstream, type UpstreamTimeouts } from '../registry/mirror/upstream.ts';
import { Upstreams } from '../registry/mirror/upstreams.ts';
import type { RegistryMetrics } from '../registry/metrics/registry-metrics.ts';
import { RegistryService } from '../registry/registry-service.ts';
import type { BlobStore } from '../store/blob-store.ts';

export interface OpenedPullThrough {
  pullThrough: PullThrough;
  /** The registry's service, built here because cached manifests write the mirror store's rows through it. */
  service: RegistryService;
  /** Aborts the blob fetches in flight, then closes the service's upload writers. */
  close(): Promise<void>;
}

/** registry.proxy: the pull-through cache over its upstreams; undefined when no upstream is configured. */
export function openPullThrough(deps: {
  config: Config;
  stores: Pick<MetaStores, 'meta' | 'mirror' | 'transaction'>;
  blobs: BlobStore;
  logger: Logger;
  metrics?: RegistryMetrics;
  sharedUploads?: boolean;
}): OpenedPullThrough | undefined {
  const { config, stores, blobs, logger } = deps;
  const upstreams = upstreamsFromConfig(config.registry.proxy, { userAgent: `wharf/${wharfVersion}`, maxManifestBytes: config.registry.maxManifestBytes });
  if (!upstreams.enabled) return undefined;
  const service = new RegistryService({ blobs, meta: stores.meta, config, logger, sharedUploads: deps.sharedUploads, mirror: stores.mirror, transaction: stores.transaction });
  const metrics = deps.metrics ? new MirrorMetrics(deps.metrics.registry) : undefined;
  const fetches = new BlobFetches({ blobs, logger, onUpstreamBytes: metrics && ((n, source) => metrics.upstreamBytes(source.name ?? 'upstream', n)) });
  const pullThrough = new PullThrough({ service, upstreams, fetches, mirror: stores.mirror, config, logger, metrics });
  logger.info({ upstreams: upstreams.all.map((u) => ({ name: u.name, url: u.url })) }, 'registry is a pull-through cache');
  return {
    pullThrough,
    service,
    close: async () => {
      await fetches.close();
      await service.close();
    },
  };
}

export interface UpstreamsOptions {
  userAgent?: string;
  /** registry.maxManifestBytes: a larger manifest from an upstream is its failure. */
  maxManifestBytes?: number;
  timeouts?: Partial<UpstreamTimeouts>;
}

/** registry.proxy's upstreams, with `remoteUrl` (and its credentials) as the default one. */
export function upstreamsFromConfig(proxy: Config['registry']['proxy'], options: UpstreamsOptions = {}): Upstreams {
  const client = new RegistryClient({ userAgent: options.userAgent });
  const make = (name: string, url: string, username: string, password: string, ca?: string) =>
    new RegistryUpstream({
      name,
      url,
      client,
      auth: username !== '' ? { username, password } : {},
      ca,
      maxManifestBytes: options.maxManifestBytes ?? 4 * 1024 * 1024,
      timeouts: options.timeouts,
    });
  const routes = proxy.upstreams.map((u, i) => ({
    prefix: u.prefix,
    upstream: make(u.prefix || new URL(u.url).host, u.url, u.username, u.password, u.caFile ? readCa(u.caFile, `registry.proxy.upstreams.${i}.caFile`) : undefined),
  }));
  if (proxy.remoteUrl !== '') routes.push({ prefix: '', upstream: make(new URL(proxy.remoteUrl).host, proxy.remoteUrl, proxy.username, proxy.password) });
  return new Upstreams(routes);
}

function readCa(file: string, key: string): string {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Fault('invalid-argument', `${key}: cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Fault('invalid-argument', `${key}: ${file} holds no PEM certificate`);
  return pem;
}
