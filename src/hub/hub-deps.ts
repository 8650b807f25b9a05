import type { FastifyRequest } from 'fastify';
import type { Config } from '../base/config.ts';
import type { Logger } from '../base/log.ts';
import type { AuthServices } from '../auth/create-authorizer.ts';
import type { MetaStores } from '../meta/meta-stores.ts';
import type { RegistryService } from '../registry/registry-service.ts';
import type { BlobStore } from '../store/blob-store.ts';
import type { HubAuth } from './hub-auth.ts';

/** What the hub's routes are built from (src/main/start-wharf.ts composes it). Each part adds its own field. */
export interface HubDeps {
  config: Config;
  logger: Logger;
  stores: MetaStores;
  registry: RegistryService;
  blobs: BlobStore;
  auth: HubAuth;
  authServices: AuthServices;
  /** `registry.publicUrl`, else the origin the request came to: the base of URLs the API hands out. */
  publicUrl(request: FastifyRequest): string;
}
