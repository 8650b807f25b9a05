import type { FastifyReply, FastifyRequest } from 'fastify';
import type { IndexAccess } from '../../auth/index-tokens.ts';
import type { Config } from '../../base/config.ts';
import { Fault } from '../../base/fault.ts';
import type { MetadataStore } from '../../meta/metadata-store.ts';
import type { V1ImageRecord } from '../../meta/v1-store.ts';
import { encryptedLayerMediaTypes } from '../../oci/media-types.ts';
import { maxV1ImageJsonBytes, validateV1Id } from '../../oci/v1-image.ts';
import { matchV1RepositoryPath, type V1RepositoryRoute } from '../../oci/v1-routes.ts';
import type { PullThrough } from '../mirror/pull-through.ts';
import type { RegistryEvents, RequestEvents } from '../notifications/request-events.ts';
import { parseRangeHeader } from '../v2/http-ranges.ts';
import { parseImageList, parseTagBody, readText } from './v1-body.ts';
import type { V1Action, V1Auth, V1Caller } from './v1-auth.ts';
import type { V1Images } from './v1-images.ts';
import type { V1Repositories } from './v1-repositories.ts';
import { parseSearchQuery, searchRepositories } from './v1-search.ts';
import type { V1Users } from './users.ts';

export interface V1Context {
  auth: V1Auth;
  images: V1Images;
  repositories: V1Repositories;
  users: V1Users;
  meta: MetadataStore;
  config: Config;
  events: RegistryEvents;
  /** Refuses writes to the names the pull-through cache mirrors; absent when it mirrors none. */
  pullThrough?: Pick<PullThrough, 'writeRefused'>;
}

export interface V1Exchange {
  request: FastifyRequest;
  reply: FastifyReply;
  ctx: V1Context;
  signal?: AbortSignal;
}

export type V1Handler = (x: V1Exchange) => Promise<FastifyReply>;

/** The registry version docker-registry last shipped (0.9.1); docker 1.x only checks the header is there. */
export const registryVersion = '0.9.1';
/** X-Docker-Encrypt: the encrypted layer types the registry stores opaquely (`/v1/_ping` and `/v2/`). */
export const encryptHeaderValue = encryptedLayerMediaTypes.join(',');

const maxListBytes = 8 * 1024 * 1024;
const maxTagBodyBytes = 1024;
const maxSignatureBytes = 8 * 1024;

export const ping: V1Handler = async ({ reply, ctx }) =>
  reply.header('x-docker-registry-standalone', String(ctx.auth.standalone)).header('x-docker-encrypt', encryptHeaderValue).send(true);

export const login: V1Handler = ({ request, reply, ctx }) => ctx.users.login(request, reply);
export const signup: V1Handler = ({ request, reply, ctx }) => ctx.users.signup(request, reply);
export const updateUser: V1Handler = ({ request, reply, ctx }) => ctx.users.update(request, reply);

export const search: V1Handler = async (x) => {
  const caller = (await x.ctx.auth.bearerSearchCaller(x.request.headers.authorization, x.request.ip)) ?? (await callerOf(x));
  const { q, n, page } = parseSearchQuery(x.request.query as Record<string, string | undefined>);
  const result = await searchRepositories(x.ctx.meta, { q, n, page, pullable: (names) => x.ctx.auth.pullable(caller, names) });
  return x.reply.send(result);
};

// ---- /v1/images/<id>/<part>

export const getImage: V1Handler = async (x) => {
  const { id, part } = imageParams(x);
  if (part !== 'json' && part !== 'layer' && part !== 'ancestry') throw methodNotAllowed(x.reply, ['PUT']);
  const caller = await callerOf(x);
  const image = await readableImage(x, caller, id);
  if (part === 'ancestry') return x.reply.send(await x.ctx.images.ancestry(id));
  if (part === 'json') return sendImageJson(x, image);
  await notifyLayer(x, caller, 'pull', image);
  return sendLayer(x, image);
};

export const putImage: V1Handler = async (x) => {
  const { id, part } = imageParams(x);
  if (part === 'ancestry') throw methodNotAllowed(x.reply, ['GET']);
  const caller = await callerOf(x);
  const { holder } = x.ctx.auth.requireImageUpload(caller);
  // An upload bound to no repository (Basic, no push session) is refused when it is tagged into a mirrored one.
  if (holder !== undefined) refuseMirroredWrite(x, holder);
  await requireUploadable(x, caller, id);
  if (part === 'json') {
    await x.ctx.images.putJson(id, await readText(x.request, maxV1ImageJsonBytes), holder);
  } else if (part === 'layer') {
    await x.ctx.images.putLayer(id, x.request.raw, { declared: declaredChecksums(x.request), signal: x.signal });
    await notifyLayer(x, caller, 'push', await x.ctx.images.peek(id), holder);
  } else {
    await x.ctx.images.putChecksum(id, declaredChecksums(x.request) ?? {});
  }
  return x.reply.send(true);
};

function imageParams(x: V1Exchange): { id: string; part: string } {
  const { id, part } = x.request.params as { id: string; part: string };
  validateV1Id(id);
  if (!['json', 'layer', 'checksum', 'ancestry'].includes(part)) throw new Fault('not-found', `no such image resource "${part.slice(0, 40)}"`);
  return { id, part };
}

/**
 * A complete image the caller may read: held by a repository they may pull. Anyone else is told it is not
 * there, except an anonymous caller where anonymous pulls are off, who is asked to log in.
 */
async function readableImage(x: V1Exchange, caller: V1Caller, id: string): Promise<V1ImageRecord> {
  const { auth, images, config } = x.ctx;
  if (!auth.authenticated(caller) && !config.auth.anonymousPull) throw new Fault('unauthenticated', 'authentication required');
  const image = await images.get(id);
  if (auth.open) return image;
  const holders = await images.holders(id);
  if (!holders.some((repository) => auth.may(caller, repository, 'pull'))) throw new Fault('not-found', 'Image not found');
  return image;
}

/** An upload in progress is the business of the push it belongs to: another push may not replace it. */
async function requireUploadable(x: V1Exchange, caller: V1Caller, id: string): Promise<void> {
  const { auth, images } = x.ctx;
  const image = await images.peek(id);
  if (!image || image.complete || auth.open) return;
  const holders = await images.holders(id);
  if (holders.length > 0 && !holders.some((repository) => auth.may(caller, repository, 'push'))) {
    throw new Fault('conflict', 'Image is being uploaded by another push');
  }
}

function sendImageJson(x: V1Exchange, image: V1ImageRecord): FastifyReply {
  x.reply.header('x-docker-size', String(image.layerSize ?? 0)).type('application/json');
  if (image.checksum) x.reply.header('x-docker-checksum-payload', image.checksum);
  const tarsum = image.checksums.find((c) => c.startsWith('tarsum+'));
  if (tarsum) x.reply.header('x-docker-checksum', tarsum);
  return x.reply.send(image.json);
}

/** The layer as uploaded, with `Accept-Ranges` so docker 1.x resumes a broken download with Range. */
async function sendLayer(x: V1Exchange, image: V1ImageRecord): Promise<FastifyReply> {
  const size = image.layerSize ?? 0;
  let range;
  try {
    range = parseRangeHeader(x.request.headers.range, size);
  } catch (err) {
    x.reply.header('content-range', `bytes */${size}`);
    throw err;
  }
  const stream = await x.ctx.images.openLayer(image, range);
  x.reply.header('accept-ranges', 'bytes').type('application/octet-stream');
  if (!range) return x.reply.header('content-length', String(size)).send(stream);
  return x.reply
    .code(206)
    .header('content-range', `bytes ${range.start}-${range.end}/${size}`)
    .header('content-length', String(range.end - range.start + 1))
    .send(stream);
}

function declaredChecksums(request: FastifyRequest): { payload?: string; checksum?: string } | undefined {
  const header = (name: string) => {
    const value = request.headers[name];
    return typeof value === 'string' && value ? value.trim() : undefined;
  };
  const payload = header('x-docker-checksum-payload');
  const checksum = header('x-docker-checksum');
  if (!payload && !checksum) return undefined;
  return { ...(payload ? { payload } : {}), ...(checksum ? { checksum } : {}) };
}

// ---- /v1/repositories/<name>/…

export const repositories: V1Handler = async (x) => {
  const rest = (x.request.params as { '*': string })['*'] ?? '';
  const route = matchV1RepositoryPath(rest);
  if (!route) throw new Fault('not-found', 'no repository named');
  const handler = repositoryHandlers[route.route][x.request.method];
  if (!handler) throw methodNotAllowed(x.reply, Object.keys(repositoryHandlers[route.route]));
  const repository = await x.ctx.repositories.resolve(route.name);
  return handler(x, route, repository);
};

type RepositoryHandler = (x: V1Exchange, route: V1RepositoryRoute, repository: string) => Promise<FastifyReply>;

const repositoryHandlers: Record<V1RepositoryRoute['route'], Partial<Record<string, RepositoryHandler>>> = {
  repository: {
    PUT: async (x, _route, repository) => {
      const caller = await authorize(x, repository, 'push');
      const readable = (holders: string[]) => x.ctx.auth.open || holders.some((holder) => x.ctx.auth.may(caller, holder, 'pull'));
      await x.ctx.repositories.startPush(repository, parseImageList(await readText(x.request, maxListBytes)), readable);
      indexAnswer(x, caller, repository, 'write');
      return x.reply.type('application/json').send('""');
    },
    DELETE: deleteRepository,
  },
  images: {
    GET: async (x, _route, repository) => {
      const caller = await authorize(x, repository, 'pull');
      const list = await x.ctx.repositories.imageList(repository);
      indexAnswer(x, caller, repository, 'read');
      return x.reply.send(list);
    },
    PUT: async (x, _route, repository) => {
      await authorize(x, repository, 'push');
      await x.ctx.repositories.finishPush(repository, parseImageList(await readText(x.request, maxListBytes)));
      return x.reply.code(204).send();
    },
  },
  tags: {
    GET: async (x, _route, repository) => {
      await authorize(x, repository, 'pull');
      return x.reply.send(await x.ctx.repositories.tags(repository));
    },
  },
  tag: {
    GET: async (x, route, repository) => {
      const caller = await authorize(x, repository, 'pull');
      const { id, signature } = await x.ctx.repositories.tag(repository, tagOf(route));
      await notifyTag(x, caller, 'pull', repository, tagOf(route));
      if (signature !== undefined) x.reply.header('x-docker-sign', signature);
      return x.reply.type('application/json').send(JSON.stringify(id));
    },
    PUT: async (x, route, repository) => {
      const tag = tagOf(route);
      const caller = await authorize(x, repository, 'push');
      const id = parseTagBody(await readText(x.request, maxTagBodyBytes));
      // An image nobody holds was uploaded without a repository (Basic, no session): its id is its key.
      const usable = (holders: string[]) => holders.length === 0 || holders.some((holder) => x.ctx.auth.may(caller, holder, 'pull'));
      await x.ctx.repositories.setTag(repository, tag, id, { usable, ...signatureOf(x.request) });
      await notifyTag(x, caller, 'push', repository, tag);
      return x.reply.send(true);
    },
    DELETE: async (x, route, repository) => {
      const caller = await authorize(x, repository, 'delete');
      await x.ctx.repositories.deleteTag(repository, tagOf(route));
      await eventsOf(x, caller).deleted(repository, tagOf(route));
      return x.reply.send(true);
    },
  },
};

/**
 * hub_registry_spec's delete: the index answers `X-Docker-Token: true` with 202 and a delete token (the
 * repository is only marked); the registry's DELETE removes it (200, 404 when absent); the index's closing
 * DELETE, recognised by X-Docker-Endpoints, forgets what is left and answers 200.
 */
async function deleteRepository(x: V1Exchange, _route: V1RepositoryRoute, repository: string): Promise<FastifyReply> {
  const caller = await authorize(x, repository, 'delete');
  if (wantsToken(x.request)) {
    if (!(await x.ctx.repositories.exists(repository))) throw new Fault('not-found', 'Repository not found');
    indexAnswer(x, caller, repository, 'delete');
    return x.reply.code(202).send(true);
  }
  const deleted = await x.ctx.repositories.deleteRepository(repository);
  if (!deleted && x.request.headers['x-docker-endpoints'] === undefined) throw new Fault('not-found', 'Repository not found');
  if (deleted) await eventsOf(x, caller).deleted(repository);
  return x.reply.send(true);
}

function tagOf(route: V1RepositoryRoute): string {
  if (route.route !== 'tag') throw new Fault('not-found', 'no tag named');
  return route.tag;
}

function signatureOf(request: FastifyRequest): { signature?: string } {
  const value = request.headers['x-docker-sign'];
  if (value === undefined) return {};
  if (typeof value !== 'string' || value.length > maxSignatureBytes || !/^[\x20-\x7e]+$/.test(value)) {
    throw new Fault('invalid-argument', `X-Docker-Sign must be printable ASCII of at most ${maxSignatureBytes} bytes`);
  }
  return { signature: value };
}

// ---- shared steps

/**
 * The caller. A registry that verified a token hands out a session cookie carrying its grant (hub_registry_spec
 * 6.2), renewed on every request the grant authorises.
 */
async function callerOf(x: V1Exchange): Promise<V1Caller> {
  const { authorization, cookie } = x.request.headers;
  const caller = await x.ctx.auth.caller({ authorization, cookie }, x.request.ip);
  const session = x.ctx.auth.refreshedSession(caller, secure(x.request));
  if (session) x.reply.header('set-cookie', session);
  return caller;
}

async function authorize(x: V1Exchange, repository: string, action: V1Action): Promise<V1Caller> {
  const caller = await callerOf(x);
  x.ctx.auth.require(caller, repository, action);
  if (action !== 'pull') refuseMirroredWrite(x, repository);
  return caller;
}

/** After authorization and before the body is read, as on v2 (distribution's proxy mode refuses in its handlers). */
function refuseMirroredWrite(x: V1Exchange, repository: string): void {
  const refused = x.ctx.pullThrough?.writeRefused(repository, x.request.method);
  if (refused) throw refused;
}

/**
 * What the index answers a push, pull or delete: where the registry is (X-Docker-Endpoints), a session cookie
 * bound to the repository and access, and, when the client asked with `X-Docker-Token: true`, the token itself
 * (also as `WWW-Authenticate: Token …`, as the spec's examples show).
 */
function indexAnswer(x: V1Exchange, caller: V1Caller, repository: string, access: IndexAccess): void {
  const token = x.ctx.auth.issue(caller, repository, access);
  // This grant replaces whatever session the request came with.
  x.reply.removeHeader('set-cookie');
  x.reply.header('x-docker-endpoints', endpointHost(x.request, x.ctx.config)).header('set-cookie', x.ctx.auth.sessionCookie(token, secure(x.request)));
  if (wantsToken(x.request)) x.reply.header('x-docker-token', token).header('www-authenticate', `Token ${token}`);
}

function wantsToken(request: FastifyRequest): boolean {
  return String(request.headers['x-docker-token'] ?? '').toLowerCase() === 'true';
}

function secure(request: FastifyRequest): boolean {
  return request.protocol === 'https';
}

const hostPattern = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/** This registry as clients reach it: the public URL's host, else the Host header when it is a plain host[:port]. */
function endpointHost(request: FastifyRequest, config: Config): string {
  if (config.registry.publicUrl) return new URL(config.registry.publicUrl).host;
  const host = request.headers.host ?? '';
  return hostPattern.test(host) ? host : config.registry.addr;
}

// ---- notifications: each v1 operation as the v2 event closest to it

function eventsOf(x: V1Exchange, caller: V1Caller): RequestEvents {
  return x.ctx.events.forRequest(x.request, caller.identity.account ?? caller.grant?.account);
}

/** A tag set or read on v1 is the bridged v2 manifest pushed or pulled under that tag. */
async function notifyTag(x: V1Exchange, caller: V1Caller, action: 'push' | 'pull', repository: string, tag: string): Promise<void> {
  const digest = await x.ctx.meta.resolveTag(repository, tag);
  const manifest = digest === undefined ? undefined : await x.ctx.meta.getManifest(repository, digest);
  if (manifest) await eventsOf(x, caller).manifest(action, repository, manifest, tag);
}

/** A layer is a blob of the repository the push session names, else of one the image is in (and the caller may pull). */
async function notifyLayer(x: V1Exchange, caller: V1Caller, action: 'push' | 'pull', image: V1ImageRecord | undefined, holder?: string): Promise<void> {
  if (!image?.layerDigest) return;
  const holders = holder ? [holder] : await x.ctx.images.holders(image.id);
  const repository = holders.find((name) => x.ctx.auth.open || x.ctx.auth.may(caller, name, action));
  if (repository) await eventsOf(x, caller).blob(action, repository, { digest: image.layerDigest, size: image.layerSize ?? 0 });
}

function methodNotAllowed(reply: FastifyReply, allowed: string[]): Fault {
  reply.header('allow', allowed.join(', '));
  return new Fault('not-implemented', 'method not allowed', { code: 'METHOD_NOT_ALLOWED' });
}
