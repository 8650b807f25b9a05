import { pipeline } from 'node:stream/promises';
import type { ServerResponse } from 'node:http';
import { Fault } from '../../base/fault.ts';
import type { RegistryAuth } from '../../client/registry-client.ts';
import { familiarReference, parseReference } from '../../client/reference.ts';
import type { ImageService } from '../images/image-service.ts';
import type { ImageRecord } from '../images/image-store.ts';
import { imageInspect, imageSummary, unixSeconds } from './image-json.ts';
import { streamProgress, type JsonStream } from './json-stream.ts';
import { imageSchemas as schemas } from './image-schemas.ts';
import { imageListFilters } from './version-gates.ts';
import { compilePathPattern } from './path-pattern.ts';
import { matchesLabels, parseTimestamp } from './query.ts';
import { inputOf } from './route-schema.ts';
import { requestBody } from './request-body.ts';
import type { ApiContext, Reply, Route } from './router.ts';

export interface ImageRouteDeps {
  images: ImageService;
}

export function imageRoutes(deps: ImageRouteDeps): Route[] {
  const { images } = deps;
  return [
    { name: 'image-list', method: 'GET', path: '/images/json', schema: schemas.list, handle: (ctx) => listImages(images, ctx) },
    { name: 'image-create', method: 'POST', path: '/images/create', body: 'raw', schema: schemas.create, handle: (ctx, res) => createImage(images, ctx, res) },
    { name: 'image-search', method: 'GET', path: '/images/search', schema: schemas.search, handle: (ctx) => searchImages(images, ctx) },
    {
      name: 'image-save',
      method: 'GET',
      path: '/images/get',
      schema: schemas.save,
      handle: (ctx, res) => saveImages(images, inputOf(schemas.save, ctx).query.names, res),
    },
    { name: 'image-save-one', method: 'GET', path: '/images/{name*}/get', handle: (ctx, res) => saveImages(images, [ctx.params.name], res) },
    { name: 'image-load', method: 'POST', path: '/images/load', body: 'raw', schema: schemas.load, handle: (ctx, res) => loadImages(images, ctx, res) },
    { name: 'image-inspect', method: 'GET', path: '/images/{name*}/json', handle: (ctx) => inspectImage(deps, ctx) },
    {
      name: 'image-history',
      method: 'GET',
      path: '/images/{name*}/history',
      handle: async (ctx) => ({ status: 200, json: await images.history(ctx.params.name) }),
    },
    { name: 'image-tag', method: 'POST', path: '/images/{name*}/tag', schema: schemas.tag, handle: (ctx) => tagImage(images, ctx) },
    { name: 'image-push', method: 'POST', path: '/images/{name*}/push', schema: schemas.push, handle: (ctx, res) => pushImage(images, ctx, res) },
    {
      name: 'image-delete',
      method: 'DELETE',
      path: '/images/{name*}',
      schema: schemas.delete,
      handle: async (ctx) => {
        const { force, noprune } = inputOf(schemas.delete, ctx).query;
        return { status: 200, json: await images.remove(ctx.params.name, { force, prune: !noprune }) };
      },
    },
  ];
}

/**
 * GET /images/json as moby lists: an image without references shows only with `all` or when it has no children
 * (intermediate images hide); `dangling=true` keeps images with neither tags nor children; a reference filter
 * keeps the matching references only.
 */
async function listImages(images: ImageService, ctx: ApiContext): Promise<Reply> {
  const query = inputOf(schemas.list, ctx).query;
  const { all } = query;
  const filters = imageListFilters(query.filters, query.filter, ctx.version);
  const store = images.store;
  const matchers = await imageMatchers(images, filters);
  const dangling = filters.get('dangling')?.length ? filterBool('dangling', filters.get('dangling')![0]) : undefined;
  const references = filters.get('reference')?.map(compilePathPattern);
  const out: Record<string, unknown>[] = [];
  for (const image of store.list()) {
    if (dangling && store.children(image.id).length) continue;
    const config = await store.config(image.id);
    if (!matchers.every((m) => m(image, unixSeconds(config.created), config.config?.Labels))) continue;
    const tags = store.familiarTags(image.id).filter((tag) => !references || references.some((p) => referenceMatches(p, tag)));
    const digests = store.familiarDigests(image.id).filter((d) => !references || references.some((p) => p(d) || p(d.slice(0, d.indexOf('@')))));
    if (!tags.length && !digests.length) {
      if (!all && store.children(image.id).length) continue;
      if (dangling === false || references) continue;
    } else if (dangling && tags.length) continue;
    out.push(imageSummary(store, image, config, ctx.version, { tags, digests }));
  }
  // Created is in seconds: images built in the same second would otherwise list in the store's load order,
  // which a restart may change.
  out.sort((a, b) => (b.Created as number) - (a.Created as number) || String(a.Id).localeCompare(String(b.Id)));
  return { status: 200, json: out };
}

type ImageMatcher = (image: ImageRecord, created: number, labels: Record<string, string> | null | undefined) => boolean;

async function imageMatchers(images: ImageService, filters: Map<string, string[]>): Promise<ImageMatcher[]> {
  const store = images.store;
  const matchers: ImageMatcher[] = [];
  const labels = filters.get('label');
  if (labels?.length) matchers.push((_i, _c, l) => matchesLabels(l, labels));
  for (const key of ['before', 'since'] as const) {
    const value = filters.get(key)?.[0];
    if (!value) continue;
    const pivot = unixSeconds((await store.config(store.resolve(value).id)).created);
    matchers.push((_i, created) => (key === 'before' ? created < pivot : created > pivot));
  }
  const until = filters.get('until')?.[0];
  if (until) {
    const limit = parseTimestamp(until, Date.now()) / 1000;
    matchers.push((_i, created) => created < limit);
  }
  return matchers;
}

/** moby's filters.GetBoolOrDefault: true/1 or false/0 (any case), anything else refused by name. */
function filterBool(key: string, value: string): boolean {
  const lower = value.toLowerCase();
  if (lower === 'true' || lower === '1') return true;
  if (lower === 'false' || lower === '0') return false;
  throw new Fault('invalid-argument', `invalid filter '${key}=${value}'`);
}

/** moby: the pattern is matched (path.Match) against the familiar name and against name:tag. */
function referenceMatches(matches: (name: string) => boolean, tag: string): boolean {
  return matches(tag.slice(0, tag.lastIndexOf(':'))) || matches(tag);
}

async function inspectImage(deps: ImageRouteDeps, ctx: ApiContext): Promise<Reply> {
  const store = deps.images.store;
  const image = store.resolve(ctx.params.name);
  const config = await store.config(image.id);
  return { status: 200, json: imageInspect(store, image, config, { version: ctx.version }) };
}

async function tagImage(images: ImageService, ctx: ApiContext): Promise<Reply> {
  const { repo, tag } = inputOf(schemas.tag, ctx).query;
  images.tag(ctx.params.name, repo ?? '', tag);
  return { status: 201 };
}

/** docker save: names are checked before the first byte, so a bad one is a plain 404; then the tar streams. */
async function saveImages(images: ImageService, names: string[], res: ServerResponse): Promise<Reply> {
  const archive = images.save(names.filter(Boolean));
  res.writeHead(200, { 'Content-Type': 'application/x-tar' });
  await pipeline(archive, res).catch(() => res.destroy());
  return 'streamed';
}

/**
 * docker load: the body is the archive; the answer a JSON stream of `Loaded image: …` lines. moby's postImagesLoad
 * answers 200 at once and any failure in-band, so the CLI prints it without "Error response from daemon".
 */
async function loadImages(images: ImageService, ctx: ApiContext, res: ServerResponse): Promise<Reply> {
  return streamProgress(res, (stream) => {
    stream.start();
    return images.load(requestBody(ctx.req), { progress: (m) => stream.write(m), signal: ctx.signal });
  });
}

/** GET /images/search?term=&limit=&filters=: the index's /v1/search, narrowed by moby's filters. */
async function searchImages(images: ImageService, ctx: ApiContext): Promise<Reply> {
  const { term, limit = 25, filters } = inputOf(schemas.search, ctx).query;
  if (!term) throw new Fault('invalid-argument', 'a search term is required');
  if (limit < 1 || limit > 100) throw new Fault('invalid-argument', `Limit ${limit} is outside the range of [1, 100]`);
  const flag = (key: string) => {
    const value = filters.get(key)?.[0];
    if (value === undefined) return undefined;
    if (value !== 'true' && value !== 'false') throw new Fault('invalid-argument', `invalid filter '${key}=${value}'`);
    return value === 'true';
  };
  const official = flag('is-official');
  const automated = flag('is-automated');
  const stars = Math.max(0, ...(filters.get('stars') ?? []).map((s) => {
    if (!/^\d+$/.test(s)) throw new Fault('invalid-argument', `invalid filter 'stars=${s}'`);
    return Number(s);
  }));
  const results = await images.search(term, { limit, auth: registryAuth(ctx), signal: ctx.signal });
  const kept = results.filter(
    (r) => (official === undefined || r.is_official === official) && (automated === undefined || r.is_automated === automated) && r.star_count >= stars,
  );
  return { status: 200, json: kept.slice(0, limit) };
}

/** POST /images/{name}/push?tag=: moby's progress stream; an error after the first line is reported in-band. */
async function pushImage(images: ImageService, ctx: ApiContext, res: ServerResponse): Promise<Reply> {
  const { tag } = inputOf(schemas.push, ctx).query;
  return streamProgress(res, (stream) => images.push(ctx.params.name, tag, { auth: registryAuth(ctx), progress: (m) => stream.write(m), signal: ctx.signal }));
}

/** POST /images/create: `fromImage` pulls, `fromSrc=-` imports the request body. */
async function createImage(images: ImageService, ctx: ApiContext, res: ServerResponse): Promise<Reply> {
  const { fromImage, fromSrc } = inputOf(schemas.create, ctx).query;
  return streamProgress(res, async (stream) => {
    if (fromImage) await pull(images, ctx, stream, fromImage);
    else if (fromSrc === '-') await importImage(images, ctx, stream);
    else if (fromSrc) throw new Fault('not-implemented', 'importing from a URL is not supported; pipe the tar to docker import instead');
    else throw new Fault('invalid-argument', 'fromImage or fromSrc is required');
  });
}

async function pull(images: ImageService, ctx: ApiContext, stream: JsonStream, fromImage: string): Promise<void> {
  const tag = inputOf(schemas.create, ctx).query.tag ?? '';
  const input = !tag ? fromImage : tag.includes(':') ? `${fromImage}@${tag}` : `${fromImage}:${tag}`;
  // Validate before any byte is written so a bad name is a plain 400.
  familiarReference(parseReference(input));
  await images.pull(input, { auth: registryAuth(ctx), progress: (m) => stream.write(m), signal: ctx.signal });
}

async function importImage(images: ImageService, ctx: ApiContext, stream: JsonStream): Promise<void> {
  const { repo, tag, message, changes } = inputOf(schemas.create, ctx).query;
  const id = await images.import(requestBody(ctx.req), { repo, tag, message, changes, signal: ctx.signal });
  stream.write({ status: id });
}

/** X-Registry-Auth: base64url JSON AuthConfig; moby ignores values it cannot decode. */
export function registryAuth(ctx: ApiContext): RegistryAuth {
  const header = ctx.req.headers['x-registry-auth'];
  if (typeof header !== 'string' || !header) return {};
  try {
    const parsed = JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as Record<string, string | undefined>;
    return {
      username: parsed.username || undefined,
      password: parsed.password || undefined,
      identityToken: parsed.identitytoken || undefined,
      registryToken: parsed.registrytoken || undefined,
    };
  } catch {
    return {};
  }
}
