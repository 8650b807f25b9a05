import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuthDecision, AuthRequest, Authorizer } from '../../auth/authorizer.ts';
import type { Config } from '../../base/config.ts';
import { Fault } from '../../base/fault.ts';
import { asStorageFull } from '../../base/storage-full.ts';
import type { Logger } from '../../base/log.ts';
import type { MetadataStore } from '../../meta/metadata-store.ts';
import { matchV2Route, type V2Match, type V2RouteName } from '../../oci/distribution-routes.ts';
import { validateRepositoryName } from '../../oci/reference.ts';
import type { BlobStore } from '../../store/blob-store.ts';
import type { PullThrough } from '../mirror/pull-through.ts';
import { type RegistryEvents, silentRegistryEvents } from '../notifications/request-events.ts';
import { registerQuotaRoute } from '../quota/quota-route.ts';
import { RegistryService } from '../registry-service.ts';
import { closeIfBodyUnread, closeUnreadBodies } from '../unread-body.ts';
import { accessFor } from './access.ts';
import { sendError, sendWireError } from './errors.ts';
import * as handlers from './handlers.ts';

export interface RegistryDeps {
  blobs: BlobStore;
  meta: MetadataStore;
  authorizer: Authorizer;
  config: Config;
  logger: Logger;
  /** Shared with the v1 routes when both run; built here otherwise. */
  service?: RegistryService;
  /** Extra headers on `/v2/` (the v1 bridge's X-Docker-Encrypt). */
  baseHeaders?: Record<string, string>;
  /** Notifications (src/registry/notifications/); none when absent. */
  events?: RegistryEvents;
  /** Replicas on one database: see RegistryServiceDeps.sharedUploads. */
  sharedUploads?: boolean;
  /** registry.proxy: the names it mirrors are pulled through it, and refuse writes. */
  pullThrough?: PullThrough;
}

/** Handlers by route and method: the dispatcher's whole routing table. */
const table: Record<V2RouteName, Partial<Record<string, handlers.Handler>>> = {
  base: { GET: handlers.base, HEAD: handlers.base },
  catalog: { GET: handlers.catalog },
  tags: { GET: handlers.tags },
  manifest: { GET: handlers.getManifest, HEAD: handlers.getManifest, PUT: handlers.putManifest, DELETE: handlers.deleteManifest },
  uploadStart: { POST: handlers.startUpload },
  upload: { GET: handlers.uploadStatus, PATCH: handlers.patchUpload, PUT: handlers.putUpload, DELETE: handlers.cancelUpload },
  blob: { GET: handlers.getBlob, HEAD: handlers.getBlob, DELETE: handlers.deleteBlob },
  referrers: { GET: handlers.referrers },
};

const bodyMethods = new Set(['PUT', 'POST', 'PATCH']);
const readMethods = new Set(['GET', 'HEAD']);

/**
 * Registers the Distribution API under `/v2/`, in its own encapsulated context whose content-type parser
 * leaves every body unread: blobs stream straight into the store, manifests are read whole behind a cap.
 * Returns the service, which the v1 routes share.
 */
export function registerRegistryV2(app: FastifyInstance, deps: RegistryDeps): RegistryService {
  const service = deps.service ?? new RegistryService(deps);
  const ownsService = !deps.service;
  const location = locationBuilder(deps.config.registry.publicUrl);
  app.register(
    async (scope) => {
      closeUnreadBodies(scope);
      // fastify refuses some requests itself before a handler runs (an unparsable Content-Type is a 415): they
      // still answer in the registry's error shape.
      scope.setErrorHandler((err: Error & { statusCode?: number }, _request, reply) => {
        reply.header('docker-distribution-api-version', 'registry/2.0');
        const status = err.statusCode;
        if (status === undefined || status < 400 || status >= 500) return sendError(reply, err, deps.logger);
        return sendWireError(reply, { status, code: 'UNSUPPORTED', message: err.message.slice(0, 300), detail: {} });
      });
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', (_request, _payload, done) => done(null));
      const handle = (request: FastifyRequest, reply: FastifyReply) => dispatch(request, reply, { service, deps, location });
      const methods = [...scope.supportedMethods];
      scope.route({ method: methods, url: '', handler: handle, exposeHeadRoute: false });
      scope.route({ method: methods, url: '/*', handler: handle, exposeHeadRoute: false });
      registerQuotaRoute(scope, { meta: deps.meta, logger: deps.logger, allow: (request, reply) => allowCatalog(request, reply, deps.authorizer) });
      // Methods fastify does not route (PROPFIND, …) still get the registry's 404/405 JSON.
      scope.setNotFoundHandler(handle);
      if (ownsService) scope.addHook('onClose', async () => service.close());
    },
    { prefix: '/v2' },
  );
  return service;
}

/**
 * fastify's `frameworkErrors` option: a path fastify cannot decode (`%zz`) never reaches a route, so under
 * `/v2/` it is answered here in the registry's error shape instead of fastify's. Pass it to Fastify().
 */
export function registryFrameworkErrors(error: Error & { statusCode?: number }, request: FastifyRequest, reply: FastifyReply): void {
  const status = error.statusCode ?? 400;
  if (!request.url.startsWith('/v2')) {
    closeIfBodyUnread(request, reply);
    reply.code(status).send({ error: error.message });
    return;
  }
  reply.header('docker-distribution-api-version', 'registry/2.0');
  closeIfBodyUnread(request, reply);
  sendWireError(reply, { status, code: 'UNSUPPORTED', message: `malformed request path: ${error.message.slice(0, 300)}`, detail: {} });
}

interface DispatchDeps {
  service: RegistryService;
  deps: RegistryDeps;
  location: (path: string) => string;
}

/** Per request: match the route (data), check the method, validate the name, authorize, handle, render faults. */
async function dispatch(request: FastifyRequest, reply: FastifyReply, { service, deps, location }: DispatchDeps) {
  reply.header('docker-distribution-api-version', 'registry/2.0');
  // Not `new URL()`: it would resolve `a/../b` into `b` and hide a traversal attempt from name validation.
  const queryAt = request.url.indexOf('?');
  const pathname = queryAt < 0 ? request.url : request.url.slice(0, queryAt);
  const match = matchV2Route(pathname);
  if (!match) return sendWireError(reply, unknownRoute(pathname));
  const byMethod = table[match.route.name];
  const handler = Object.hasOwn(byMethod, request.method) ? byMethod[request.method] : undefined;
  if (!handler) return sendWireError(reply.header('allow', match.route.methods.join(', ')), wrongMethod(request.method, match));
  try {
    // Names are validated before authorization, so a traversal attempt is a 400 whatever the caller holds.
    const name = match.name === undefined ? '' : validateRepositoryName(match.name);
    const query = parseQuery(queryAt < 0 ? '' : request.url.slice(queryAt + 1));
    const decision = await deps.authorizer.authorize(authRequest(request), accessFor(match, request.method));
    if (!decision.allowed) return deny(reply, decision);
    // After authorization, as distribution's proxy mode refuses in its handlers; before any body is read.
    const refused = name && !readMethods.has(request.method) ? deps.pullThrough?.writeRefused(name, request.method) : undefined;
    if (refused) throw refused;
    if (match.route.name === 'base' && deps.baseHeaders) reply.headers(deps.baseHeaders);
    return await handler({
      service,
      name,
      param: safeDecode(match.param ?? ''),
      request,
      reply,
      query,
      identity: decision.identity,
      signal: bodyMethods.has(request.method) ? clientGone(request) : undefined,
      location,
      filterPullable: (names) => deps.authorizer.filterPullable(decision.identity, names, request.ip),
      canPull: async (repository) =>
        (await deps.authorizer.authorize(authRequest(request), [{ type: 'repository', name: repository, actions: ['pull'] }])).allowed,
      events: (deps.events ?? silentRegistryEvents).forRequest(request, decision.identity.account),
      pullThrough: deps.pullThrough,
    });
  } catch (err) {
    // The metadata store's SQLITE_FULL arrives here unmapped; the blob store maps its own ENOSPC.
    return sendError(reply, asStorageFull(err, deps.config.root), deps.logger);
  }
}

function authRequest(request: FastifyRequest): AuthRequest {
  return { authorization: request.headers.authorization, ip: request.ip, protocol: 'v2', host: request.headers.host, secure: request.protocol === 'https' };
}

/** wharf's operator endpoints (quota usage) ask for what the catalog does. */
async function allowCatalog(request: FastifyRequest, reply: FastifyReply, authorizer: Authorizer): Promise<boolean> {
  const decision = await authorizer.authorize(authRequest(request), [{ type: 'registry', name: 'catalog', actions: ['*'] }]);
  if (!decision.allowed) deny(reply, decision);
  return decision.allowed;
}

function deny(reply: FastifyReply, decision: Extract<AuthDecision, { allowed: false }>): FastifyReply {
  if (decision.challenge) reply.header('www-authenticate', decision.challenge);
  if (decision.status === 429) reply.header('retry-after', String(decision.retryAfter ?? 60));
  return sendWireError(reply, { status: decision.status, code: decision.code, message: decision.message, detail: decision.detail });
}

// distribution-spec defines no code for a path that is no endpoint; UNSUPPORTED says what happened.
function unknownRoute(pathname: string) {
  return { status: 404, code: 'UNSUPPORTED', message: `no registry endpoint at ${pathname.slice(0, 300)}`, detail: {} };
}

function wrongMethod(method: string, match: V2Match) {
  return {
    status: 405,
    code: 'UNSUPPORTED',
    message: `${method} is not supported on ${match.route.name}`,
    detail: { allowed: match.route.methods },
  };
}

/** Aborts when the client disconnects before its body is complete, so the store stops waiting for bytes. */
function clientGone(request: FastifyRequest): AbortSignal {
  const abort = new AbortController();
  request.raw.once('close', () => {
    if (!request.raw.complete) abort.abort(new Fault('unavailable', 'client went away'));
  });
  return abort.signal;
}

/**
 * Query parameters, percent-decoded but without turning `+` into a space: media types (`artifactType`) are full
 * of `+`, and no registry parameter ever holds a space.
 */
function parseQuery(search: string): Record<string, string | undefined> {
  const query = Object.create(null) as Record<string, string | undefined>;
  if (!search) return query;
  for (const pair of search.split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const key = safeDecode(eq < 0 ? pair : pair.slice(0, eq));
    if (!Object.hasOwn(query, key)) query[key] = safeDecode(eq < 0 ? '' : pair.slice(eq + 1));
  }
  return query;
}

// A malformed escape stays as it is: the validation that follows refuses it with the right code, never a 500.
function safeDecode(s: string): string {
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Location headers: absolute on the configured public URL, else relative to the request (distribution's relativeurls). */
function locationBuilder(publicUrl: string): (path: string) => string {
  const base = publicUrl.replace(/\/+$/, '');
  return base ? (path) => `${base}${path}` : (path) => path;
}
