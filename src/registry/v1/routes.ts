import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type Acl, compileAcl } from '../../auth/acl.ts';
import type { Accounts } from '../../auth/accounts.ts';
import type { Authorizer } from '../../auth/authorizer.ts';
import { IndexTokens } from '../../auth/index-tokens.ts';
import type { Config } from '../../base/config.ts';
import { Fault } from '../../base/fault.ts';
import { asStorageFull } from '../../base/storage-full.ts';
import type { Logger } from '../../base/log.ts';
import type { MetaTransaction } from '../../meta/meta-transaction.ts';
import type { MetadataStore } from '../../meta/metadata-store.ts';
import type { V1Store } from '../../meta/v1-store.ts';
import type { BlobStore } from '../../store/blob-store.ts';
import type { PullThrough } from '../mirror/pull-through.ts';
import { type RegistryEvents, silentRegistryEvents } from '../notifications/request-events.ts';
import type { RegistryService } from '../registry-service.ts';
import { V1Users } from './users.ts';
import { V1Auth } from './v1-auth.ts';
import { closeUnreadBodies } from '../unread-body.ts';
import { sendV1Error } from './v1-errors.ts';
import * as handlers from './v1-handlers.ts';
import { V1Images } from './v1-images.ts';
import { V1Repositories } from './v1-repositories.ts';

export interface RegistryV1Deps {
  /** The v2 registry's service (returned by registerRegistryV2): tags set on v1 become v2 manifests through it. */
  registry: RegistryService;
  blobs: BlobStore;
  meta: MetadataStore;
  /** The legacy index's rows, on the same backend as `meta`. */
  v1: V1Store;
  /** One transaction over `meta` and `v1` (openMeta's); without it each store call commits on its own. */
  transaction?: MetaTransaction;
  /** Users and password checks (createAuthServices().accounts). */
  accounts: Accounts;
  /** The compiled ACL; compiled from config when absent. */
  acl?: Acl;
  /** The v2 authorizer: in token mode search takes its Bearer tokens too (dockerd's identity-token search). */
  authorizer?: Authorizer;
  /** The X-Docker-Token signer/verifier; a per-process one when absent. */
  indexTokens?: IndexTokens;
  config: Config;
  logger: Logger;
  /** Notifications, shared with the v2 routes; none when absent. */
  events?: RegistryEvents;
  /** registry.proxy: names it mirrors refuse v1 writes too. */
  pullThrough?: Pick<PullThrough, 'writeRefused'>;
}

/** Headers the v1 API adds: the version on every answer; X-Docker-Encrypt also on `/v2/` (start-wharf passes it). */
export const v1Headers = {
  'x-docker-registry-version': handlers.registryVersion,
  'x-docker-encrypt': handlers.encryptHeaderValue,
};

interface V1Route {
  url: string;
  /** Which 401 challenge fits: the index's (Basic) or the registry's (Token in index mode). */
  challenge: 'index' | 'registry';
  methods: Partial<Record<string, handlers.V1Handler>>;
}

/** The routing table: moby's registry_api and hub_registry_spec under `/v1`. */
const routes: V1Route[] = [
  { url: '/_ping', challenge: 'index', methods: { GET: handlers.ping } },
  { url: '/users', challenge: 'index', methods: { GET: handlers.login, POST: handlers.signup } },
  { url: '/users/', challenge: 'index', methods: { GET: handlers.login, POST: handlers.signup } },
  { url: '/users/:name', challenge: 'index', methods: { PUT: handlers.updateUser } },
  { url: '/users/:name/', challenge: 'index', methods: { PUT: handlers.updateUser } },
  { url: '/search', challenge: 'index', methods: { GET: handlers.search } },
  { url: '/images/:id/:part', challenge: 'registry', methods: { GET: handlers.getImage, PUT: handlers.putImage } },
  { url: '/repositories/*', challenge: 'index', methods: { GET: handlers.repositories, PUT: handlers.repositories, DELETE: handlers.repositories } },
];

const bodyMethods = new Set(['PUT', 'POST', 'PATCH']);

/**
 * The 2014 registry and index API under `/v1/`, on the same stores as v2, in an encapsulated context that leaves
 * bodies unread (layers stream into the BlobStore). Errors are `{"error": "…"}` (v1-errors.ts).
 */
export function registerRegistryV1(app: FastifyInstance, deps: RegistryV1Deps): void {
  const images = new V1Images({ v1: deps.v1, blobs: deps.blobs });
  const auth = new V1Auth({ accounts: deps.accounts, acl: deps.acl ?? compileAcl(deps.config.auth.acl), tokens: deps.indexTokens ?? new IndexTokens(), config: deps.config, authorizer: deps.authorizer });
  const ctx: handlers.V1Context = {
    auth,
    images,
    repositories: new V1Repositories({ v1: deps.v1, images, registry: deps.registry, meta: deps.meta, transaction: deps.transaction }),
    users: new V1Users({ accounts: deps.accounts, config: deps.config }),
    meta: deps.meta,
    config: deps.config,
    events: deps.events ?? silentRegistryEvents,
    pullThrough: deps.pullThrough,
  };
  app.register(
    async (scope) => {
      closeUnreadBodies(scope);
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', (_request, _payload, done) => done(null));
      scope.addHook('onRequest', async (_request, reply) => {
        reply.header('x-docker-registry-version', handlers.registryVersion);
      });
      const methods = [...scope.supportedMethods];
      for (const route of routes) {
        scope.route({ method: methods, url: route.url, exposeHeadRoute: false, handler: (request, reply) => dispatch(request, reply, route, ctx, deps.logger) });
      }
      scope.setNotFoundHandler((request, reply) =>
        sendV1Error(reply, new Fault('not-found', `no route for ${request.method} ${request.url.split('?')[0].slice(0, 200)}`), {
          logger: deps.logger,
          challenge: auth.challenge('index'),
        }),
      );
    },
    { prefix: '/v1' },
  );
}

async function dispatch(request: FastifyRequest, reply: FastifyReply, route: V1Route, ctx: handlers.V1Context, logger: Logger): Promise<FastifyReply> {
  try {
    const handler = route.methods[request.method] ?? (request.method === 'HEAD' ? route.methods.GET : undefined);
    if (!handler) {
      reply.header('allow', Object.keys(route.methods).join(', '));
      throw new Fault('not-implemented', `method ${request.method} not allowed on ${route.url}`, { code: 'METHOD_NOT_ALLOWED' });
    }
    return await handler({ request, reply, ctx, signal: bodyMethods.has(request.method) ? clientGone(request) : undefined });
  } catch (err) {
    const challenge = route.challenge === 'registry' || /\/tags(\/|$)/.test(request.url) ? ctx.auth.challenge('registry') : ctx.auth.challenge('index');
    return sendV1Error(reply, asStorageFull(err, ctx.config.root), { logger, challenge });
  }
}

/** Aborts when the client goes away mid-body, so a layer upload stops and drops its ingest. */
function clientGone(request: FastifyRequest): AbortSignal {
  const abort = new AbortController();
  request.raw.once('close', () => {
    if (!request.raw.complete) abort.abort(new Fault('unavailable', 'client went away'));
  });
  return abort.signal;
}
