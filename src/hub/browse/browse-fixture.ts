import assert from 'node:assert/strict';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { Identity } from '../../auth/authorizer.ts';
import type { BuildStore } from '../../meta/build-store.ts';
import { SqliteBuildStore } from '../../meta/sqlite-build-store.ts';
import { SqliteSecretStore } from '../../meta/sqlite-secret-store.ts';
import { digestOf } from '../../oci/digest.ts';
import { mediaTypes } from '../../oci/media-types.ts';
import type { RegistryEvents } from '../../registry/notifications/request-events.ts';
import { pushBlob, putManifest, startTestRegistry, type TestRegistry, type TestRegistryOptions } from '../../registry/v2/test-registry.ts';
import type { RepositoryAction } from '../hub-auth.ts';
import { apiTestApp, fixedHubAuth } from '../hub-fixture.ts';
import { ManifestSummaries } from './manifest-summaries.ts';
import { registerManifestRoutes } from '../routes/manifest-routes.ts';
import { registerRepositoriesRoutes } from '../routes/repositories-routes.ts';
import { registerTagsRoutes } from '../routes/tags-routes.ts';

export const anonymous: Identity = { admin: false };
export const user: Identity = { account: 'alice', admin: false };
export const admin: Identity = { account: 'root', admin: true };

/**
 * The browse routes in an /api/v1 scope with the hub's error handler, over a v2 registry on a temp dir (push
 * through `registry.app`), for one caller at a time. Deletes reported to the registry's events land in `deleted`.
 */
export interface BrowseHub {
  registry: TestRegistry;
  /** The autobuilds and builds (on the registry's database). */
  builds: BuildStore;
  deleted: { repository: string; reference?: string; actor?: string }[];
  /** The API as `identity`, who may do what `may` says (default: fixedHubAuth's). */
  as(identity: Identity, may?: (repository: string) => RepositoryAction[]): Promise<FastifyInstance>;
  close(): Promise<void>;
}

export async function startBrowseHub(options: TestRegistryOptions = {}): Promise<BrowseHub> {
  const registry = await startTestRegistry(options);
  const builds = new SqliteBuildStore(registry.db);
  const secrets = new SqliteSecretStore(registry.db);
  const deleted: BrowseHub['deleted'] = [];
  const registryEvents: RegistryEvents = {
    forRequest: (_request, actor) => ({
      manifest: async () => {},
      blob: async () => {},
      mounted: async () => {},
      deleted: async (repository, reference) => void deleted.push({ repository, reference, actor }),
    }),
  };
  const apps: FastifyInstance[] = [];
  const as = async (identity: Identity, may?: (repository: string) => RepositoryAction[]) => {
    const deps = { auth: fixedHubAuth(identity, may), registry: registry.registry, registryEvents, stores: { builds, secrets } };
    const app = await apiTestApp((api) => {
      registerRepositoriesRoutes(api, deps);
      const summaries = new ManifestSummaries();
      registerTagsRoutes(api, deps, summaries);
      registerManifestRoutes(api, deps, summaries);
    });
    apps.push(app);
    return app;
  };
  return {
    registry,
    builds,
    deleted,
    as,
    close: async () => {
      for (const app of apps) await app.close();
      await registry.close();
    },
  };
}

/** GET the API path (query included) and parse the JSON answer, asserting its status. */
export async function getJson<T>(app: FastifyInstance, url: string, status = 200): Promise<T> {
  const res = await app.inject({ method: 'GET', url });
  assert.equal(res.statusCode, status, `${url}: ${res.body}`);
  return res.json() as T;
}

/** Asserts an API error answer: status and code. */
export function assertApiError(res: LightMyRequestResponse, status: number, code: string): void {
  assert.equal(res.statusCode, status, res.body);
  assert.equal((res.json() as { errors: { code: string }[] }).errors[0].code, code, res.body);
}

export interface PushedImage {
  digest: string;
  size: number;
  config: { digest: string; size: number };
  layers: { digest: string; size: number }[];
}

/** Pushes an image manifest with `config` (JSON) and one layer per string, under `reference`. */
export async function pushImageWith(
  app: FastifyInstance,
  repository: string,
  reference: string,
  parts: { config: object | string; layers: string[]; configMediaType?: string; extra?: object },
): Promise<PushedImage> {
  const config = await pushBlob(app, repository, typeof parts.config === 'string' ? parts.config : JSON.stringify(parts.config));
  const layers = [];
  for (const layer of parts.layers) layers.push(await pushBlob(app, repository, layer));
  const body = JSON.stringify({
    schemaVersion: 2,
    mediaType: mediaTypes.ociManifest,
    config: { mediaType: parts.configMediaType ?? mediaTypes.ociConfig, ...config },
    layers: layers.map((l) => ({ mediaType: mediaTypes.ociLayerGzip, ...l })),
    ...parts.extra,
  });
  const res = await putManifest(app, repository, reference, body);
  assert.equal(res.statusCode, 201, res.body);
  return { digest: digestOf(body), size: Buffer.byteLength(body), config, layers };
}

/** Pushes an OCI index of `children` (descriptor fields beyond mediaType, digest, size: platform, annotations). */
export async function pushIndex(app: FastifyInstance, repository: string, reference: string, children: { image: PushedImage; fields: object }[]) {
  const body = JSON.stringify({
    schemaVersion: 2,
    mediaType: mediaTypes.ociIndex,
    manifests: children.map(({ image, fields }) => ({ mediaType: mediaTypes.ociManifest, digest: image.digest, size: image.size, ...fields })),
  });
  const res = await putManifest(app, repository, reference, body, mediaTypes.ociIndex);
  assert.equal(res.statusCode, 201, res.body);
  return { digest: digestOf(body), size: Buffer.byteLength(body) };
}
