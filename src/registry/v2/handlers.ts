import type { FastifyReply, FastifyRequest } from 'fastify';
import { Fault } from '../../base/fault.ts';
import type { Identity } from '../../auth/authorizer.ts';
import type { Page } from '../../meta/metadata-store.ts';
import { nextPageLink, v2Urls } from '../../oci/distribution-routes.ts';
import { mediaTypes } from '../../oci/media-types.ts';
import { validateRepositoryName } from '../../oci/reference.ts';
import type { PullThrough } from '../mirror/pull-through.ts';
import type { RequestEvents } from '../notifications/request-events.ts';
import type { RegistryService } from '../registry-service.ts';
import type { BlobInfo } from '../../store/blob-store.ts';
import { hasBody } from '../unread-body.ts';
import { parseContentRange, parseRangeHeader, uploadRange } from './http-ranges.ts';
import { acceptsManifest, matchesEtag } from './negotiation.ts';
import { sendBlob, sendCopy } from './send-blob.ts';

export interface HandlerContext {
  service: RegistryService;
  /** Repository name from the path, already validated ('' for `/v2/` and `_catalog`). */
  name: string;
  /** Reference, digest or upload id from the path, percent-decoded. */
  param: string;
  request: FastifyRequest;
  reply: FastifyReply;
  query: Record<string, string | undefined>;
  identity: Identity;
  /** Aborts when the client goes away mid-body; only requests that carry a body get a live one. */
  signal: AbortSignal | undefined;
  /** Turns a path into the URL a Location header carries (absolute when a public URL is configured). */
  location(path: string): string;
  filterPullable(names: string[]): Promise<string[]>;
  /** Whether the caller may pull another repository (the `from` of a cross-repository mount). */
  canPull(name: string): Promise<boolean>;
  /** Notifications: what succeeded, reported before the answer goes out. */
  events: RequestEvents;
  /** The pull-through cache (registry.proxy), which serves the names it mirrors. */
  pullThrough?: PullThrough;
}

export type Handler = (ctx: HandlerContext) => Promise<FastifyReply>;

/** Without `n`, a catalog page holds this many names and links to the next (tags are listed whole). */
const defaultCatalogPage = 1000;
const maxPage = 10_000;

export const base: Handler = async ({ reply }) => reply.header('content-type', 'application/json').send('{}');

export const catalog: Handler = async (ctx) => {
  const page = parsePage(ctx.query);
  page.n ??= defaultCatalogPage;
  const names = await ctx.service.listRepositories(page);
  // Filtered after paging, so `last` stays a real repository name and pages do not shift between callers.
  const visible = await ctx.filterPullable(names);
  if (names.length > 0 && names.length === page.n) {
    ctx.reply.header('link', nextPageLink(v2Urls.catalog({ last: names[names.length - 1], n: page.n })));
  }
  return ctx.reply.send({ repositories: visible });
};

export const tags: Handler = async (ctx) => {
  const page = parsePage(ctx.query);
  const list = await ctx.service.listTags(ctx.name, page);
  if (page.n !== undefined && list.length > 0 && list.length === page.n) {
    ctx.reply.header('link', nextPageLink(v2Urls.tags(ctx.name, { last: list[list.length - 1], n: page.n })));
  }
  return ctx.reply.send({ name: ctx.name, tags: list });
};

export const getManifest: Handler = async (ctx) => {
  const record = ctx.pullThrough?.isMirrored(ctx.name)
    ? await ctx.pullThrough.resolveManifest(ctx.name, ctx.param)
    : await ctx.service.resolveManifest(ctx.name, ctx.param);
  if (!acceptsManifest(ctx.request.headers.accept, record.mediaType)) {
    throw new Fault('not-found', `manifest ${ctx.param} is ${record.mediaType}, which the Accept header does not list`, {
      code: 'MANIFEST_UNKNOWN',
      detail: { name: ctx.name, reference: ctx.param, mediaType: record.mediaType },
    });
  }
  const reply = ctx.reply
    .header('content-type', record.mediaType)
    .header('docker-content-digest', record.digest)
    .header('etag', `"${record.digest}"`);
  if (matchesEtag(ctx.request.headers['if-none-match'], record.digest)) return reply.code(304).send();
  await ctx.events.manifest('pull', ctx.name, record, ctx.param);
  reply.header('content-length', record.size);
  if (ctx.request.method === 'HEAD') return reply.send();
  return reply.send(await ctx.service.manifestBody(record.digest));
};

export const putManifest: Handler = async (ctx) => {
  const body = await readCapped(ctx.request, ctx.service.maxManifestBytes);
  const result = await ctx.service.putManifest(ctx.name, ctx.param, body, ctx.request.headers['content-type']);
  await ctx.events.manifest('push', ctx.name, { mediaType: result.mediaType, digest: result.digest, size: body.length }, ctx.param);
  ctx.reply
    .code(201)
    .header('location', ctx.location(v2Urls.manifest(ctx.name, result.digest)))
    .header('docker-content-digest', result.digest)
    .header('content-length', 0);
  if (result.subject) ctx.reply.header('oci-subject', result.subject);
  return ctx.reply.send();
};

export const deleteManifest: Handler = async (ctx) => {
  await ctx.service.deleteManifest(ctx.name, ctx.param);
  await ctx.events.deleted(ctx.name, ctx.param);
  return ctx.reply.code(202).header('content-length', 0).send();
};

export const getBlob: Handler = async (ctx) => {
  if (ctx.pullThrough?.isMirrored(ctx.name)) return getMirroredBlob(ctx, ctx.pullThrough);
  return sendLocalBlob(ctx, await ctx.service.statBlob(ctx.name, ctx.param));
};

async function sendLocalBlob(ctx: HandlerContext, info: BlobInfo): Promise<FastifyReply> {
  let range;
  try {
    range = parseRangeHeader(ctx.request.headers.range, info.size);
  } catch (err) {
    ctx.reply.header('content-range', `bytes */${info.size}`);
    throw err;
  }
  const reply = ctx.reply
    .header('docker-content-digest', info.digest)
    .header('etag', `"${info.digest}"`)
    .header('accept-ranges', 'bytes')
    .header('content-type', 'application/octet-stream');
  if (!range && matchesEtag(ctx.request.headers['if-none-match'], info.digest)) return reply.code(304).send();
  await ctx.events.blob('pull', ctx.name, info);
  // storage.s3.redirect: the client fetches the bytes from S3 itself, as distribution's `redirect` (307).
  const location = await ctx.service.blobs.redirectUrl?.(info.digest, ctx.request.method === 'HEAD' ? 'HEAD' : 'GET');
  if (location) return reply.code(307).header('location', location).header('content-length', 0).send();
  if (range) {
    reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${info.size}`);
  }
  reply.header('content-length', range ? range.end - range.start + 1 : info.size);
  if (ctx.request.method === 'HEAD') return reply.send();
  return sendBlob(reply, ctx.service.blobs, info.digest, range);
}

/**
 * A blob of a mirrored name: served as above when cached; else its size comes from the upstream (HEAD, and a GET
 * with a Range, which needs it first) and a GET streams what the single fetch of the blob holds, following it.
 */
async function getMirroredBlob(ctx: HandlerContext, pullThrough: PullThrough): Promise<FastifyReply> {
  const head = ctx.request.method === 'HEAD';
  const rangeHeader = ctx.request.headers.range;
  const conditional = ctx.request.headers['if-none-match'] !== undefined;
  const known = head || rangeHeader !== undefined || conditional ? await pullThrough.blob(ctx.name, ctx.param, { head: true }) : undefined;
  if (known?.local) return sendLocalBlob(ctx, known.info);
  let range;
  try {
    range = known ? parseRangeHeader(rangeHeader, known.info.size) : undefined;
  } catch (err) {
    ctx.reply.header('content-range', `bytes */${known?.info.size}`);
    throw err;
  }
  const notModified = known !== undefined && !range && matchesEtag(ctx.request.headers['if-none-match'], known.info.digest);
  const blob = known && (head || notModified) ? known : await pullThrough.blob(ctx.name, ctx.param, { head: false, range });
  if (blob.local) return sendLocalBlob(ctx, blob.info);
  const reply = ctx.reply
    .header('docker-content-digest', blob.info.digest)
    .header('etag', `"${blob.info.digest}"`)
    .header('accept-ranges', 'bytes')
    .header('content-type', 'application/octet-stream');
  if (notModified) return reply.code(304).send();
  await ctx.events.blob('pull', ctx.name, blob.info);
  if (range) reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${blob.info.size}`);
  reply.header('content-length', range ? range.end - range.start + 1 : blob.info.size);
  if (!blob.copyTo) return reply.send();
  return sendCopy(reply, blob.info.digest, blob.copyTo);
}

export const deleteBlob: Handler = async (ctx) => {
  await ctx.service.deleteBlob(ctx.name, ctx.param);
  await ctx.events.deleted(ctx.name, ctx.param, 'blob');
  return ctx.reply.code(202).header('content-length', 0).send();
};

/** POST: mount (201, or an upload session when the blob cannot be mounted), monolithic (201), or a session (202). */
export const startUpload: Handler = async (ctx) => {
  const { mount, digest } = ctx.query;
  const from = ctx.query.from ? validateRepositoryName(ctx.query.from) : undefined;
  // distribution-spec: a mount the registry cannot or may not do falls back to a plain upload (202), so a caller
  // without pull on `from` learns nothing about it and still gets to push.
  if (mount !== undefined && (from === undefined || (await ctx.canPull(from)))) {
    const mounted = await ctx.service.mountBlob(ctx.name, mount, from);
    if (mounted) {
      await ctx.events.mounted(ctx.name, mounted, from);
      return blobCreated(ctx, mounted.digest);
    }
  }
  if (digest !== undefined) {
    const info = await ctx.service.uploadMonolithic(ctx.name, digest, ctx.request.raw, ctx.signal);
    await ctx.events.blob('push', ctx.name, info);
    return blobCreated(ctx, info.digest);
  }
  const { id } = await ctx.service.startUpload(ctx.name);
  return uploadAccepted(ctx, id, 0, 202);
};

export const uploadStatus: Handler = async (ctx) => {
  const { offset } = await ctx.service.uploadStatus(ctx.name, ctx.param);
  return uploadAccepted(ctx, ctx.param, offset, 204);
};

export const patchUpload: Handler = async (ctx) => {
  const range = chunkRange(ctx.request);
  const { offset } = await ctx.service.appendUpload(ctx.name, ctx.param, ctx.request.raw, { range, signal: ctx.signal });
  return uploadAccepted(ctx, ctx.param, offset, 202);
};

export const putUpload: Handler = async (ctx) => {
  const digest = ctx.query.digest;
  if (!digest) throw new Fault('invalid-argument', 'the digest query parameter is required to finish an upload', { code: 'DIGEST_INVALID' });
  const body = hasBody(ctx.request) ? ctx.request.raw : undefined;
  const range = body ? chunkRange(ctx.request) : undefined;
  const info = await ctx.service.finishUpload(ctx.name, ctx.param, digest, body, { range, signal: ctx.signal });
  await ctx.events.blob('push', ctx.name, info);
  return blobCreated(ctx, info.digest);
};

export const cancelUpload: Handler = async (ctx) => {
  await ctx.service.cancelUpload(ctx.name, ctx.param);
  return ctx.reply.code(204).send();
};

export const referrers: Handler = async (ctx) => {
  const artifactType = ctx.query.artifactType || undefined;
  const index = await ctx.service.referrers(ctx.name, ctx.param, artifactType);
  if (artifactType) ctx.reply.header('oci-filters-applied', 'artifactType');
  // A Buffer, so fastify leaves the media type without a charset parameter.
  return ctx.reply.header('content-type', mediaTypes.ociIndex).send(Buffer.from(JSON.stringify(index)));
};

function blobCreated(ctx: HandlerContext, digest: string): FastifyReply {
  return ctx.reply
    .code(201)
    .header('location', ctx.location(v2Urls.blob(ctx.name, digest)))
    .header('docker-content-digest', digest)
    .header('content-length', 0)
    .send();
}

function uploadAccepted(ctx: HandlerContext, id: string, offset: number, status: number): FastifyReply {
  return ctx.reply
    .code(status)
    .header('location', ctx.location(v2Urls.upload(ctx.name, id)))
    .header('docker-upload-uuid', id)
    .header('range', uploadRange(offset))
    .header('content-length', 0)
    .send();
}

/** Content-Range of a chunk, checked against a declared Content-Length before any byte is written. */
function chunkRange(request: FastifyRequest) {
  const range = parseContentRange(request.headers['content-range']);
  const declared = request.headers['content-length'];
  if (range && declared !== undefined && Number(declared) !== range.end - range.start + 1) {
    throw new Fault('invalid-argument', `Content-Length ${declared} does not match Content-Range ${range.start}-${range.end}`, {
      code: 'BLOB_UPLOAD_INVALID',
    });
  }
  return range;
}


function parsePage(query: Record<string, string | undefined>): Page {
  const page: Page = {};
  // Names and tags never hold a NUL (PostgreSQL text cannot), so every one after "a\0…" is after "a": the cut
  // answers as SQLite does, where PostgreSQL would refuse the parameter.
  const last = query.last?.split('\0')[0];
  if (last) page.last = last;
  if (query.n !== undefined && query.n !== '') {
    const n = /^\d{1,9}$/.test(query.n) ? Number(query.n) : Number.NaN;
    if (Number.isNaN(n)) {
      throw new Fault('invalid-argument', `invalid page size "${query.n.slice(0, 20)}"`, { code: 'PAGINATION_NUMBER_INVALID', detail: { n: query.n.slice(0, 20) } });
    }
    page.n = Math.min(n, maxPage);
  }
  return page;
}

/** Reads a manifest body whole, refusing (413) as soon as it passes `max` bytes. */
async function readCapped(request: FastifyRequest, max: number): Promise<Buffer> {
  const declared = Number(request.headers['content-length']);
  if (declared > max) throw tooLarge(`manifest is ${declared} bytes, the limit is ${max}`, max);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of request.raw) {
    total += (chunk as Buffer).length;
    if (total > max) throw tooLarge(`manifest exceeds the limit of ${max} bytes`, max);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, total);
}

// The rest of the body stays unread; the answer closes the connection (closeUnreadBodies).
function tooLarge(message: string, limit: number): Fault {
  return new Fault('too-large', message, { code: 'SIZE_INVALID', detail: { limit } });
}
