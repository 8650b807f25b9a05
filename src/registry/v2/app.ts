import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Authorizer } from '../../auth/authorizer.ts';
import type { Config } from '../../base/config.ts';
import type { Logger } from '../../base/log.ts';
import { zodOnlySchemas } from '../../base/zod-only-schemas.ts';
import type { MetadataStore } from '../../meta/metadata-store.ts';
import type { BlobStore } from '../../store/blob-store.ts';
import type { RegistryService } from '../registry-service.ts';
import { registerRegistryV2, registryFrameworkErrors } from './routes.ts';

export interface RegistryAppDeps {
  config: Config;
  blobs: BlobStore;
  meta: MetadataStore;
  authorizer: Authorizer;
  logger: Logger;
}

/**
 * A ready fastify instance serving only the v2 API, for tests and embedding; `wharf` itself composes the full
 * server in src/main. Closing the app closes the service's upload writers, not the stores it was given.
 */
export async function createRegistryApp(deps: RegistryAppDeps): Promise<FastifyInstance & { registry: RegistryService }> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // Blob uploads stream for minutes; only an idle socket should time out.
    requestTimeout: 0,
    bodyLimit: deps.config.registry.maxManifestBytes,
    frameworkErrors: registryFrameworkErrors,
    schemaController: zodOnlySchemas,
  });
  const registry = registerRegistryV2(app, deps);
  await app.ready();
  return Object.assign(app as FastifyInstance, { registry });
}
