import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { BuildRecord } from '../../meta/build-store.ts';
import { validateRepositoryName } from '../../oci/reference.ts';
import type { AutobuildRow, BuildRow, Paged } from '../../web/api-types.ts';
import { pageSizeQuery } from '../browse/page-query.ts';
import { autobuildRow, type Builds, buildRow } from '../builds/builds.ts';
import type { Caller } from '../hub-auth.ts';
import type { HubDeps } from '../hub-deps.ts';
import { parseInput } from '../parse-input.ts';

type Deps = Pick<HubDeps, 'auth' | 'builds' | 'publicUrl'>;

const id = z.string().regex(/^[0-9a-f]{16}$/, 'expected 16 hex digits');
const idParams = z.strictObject({ id });
// Beyond any name, so an overlong one reaches the registry's validator and answers its code.
const repositoryQuery = z.string().max(1024);
const autobuildsQuery = z.strictObject({ repository: repositoryQuery.optional() });
const buildsQuery = z.strictObject({ repository: repositoryQuery.optional(), last: id.optional(), n: pageSizeQuery });
const logQuery = z.strictObject({ offset: z.string().regex(/^[0-9]{1,15}$/, 'expected a byte offset').transform(Number).default(0) });

// The overall list keeps the builds the caller may pull from at most this many rows a page.
const maxScanned = 1000;

/** The automated builds' endpoints (docs/api.md, "Automated builds"); the webhook is hooks-routes.ts. */
export function registerBuildsRoutes(api: FastifyInstance, deps: Deps): void {
  const { builds } = deps;

  api.get('/autobuilds', async (request): Promise<{ autobuilds: AutobuildRow[] }> => {
    const caller = await deps.auth.caller(request);
    const query = parseInput(autobuildsQuery, request.query, 'query');
    if (query.repository !== undefined) deps.auth.require(caller, validateRepositoryName(query.repository), 'pull');
    const rows = await builds.store.listAutobuilds(query.repository);
    const pullable = new Set(deps.auth.pullable(caller, [...new Set(rows.map((row) => row.repository))]));
    const admin = deps.auth.isAdmin(caller);
    const full = (repository: string) => admin || deps.auth.actions(caller, repository).includes('push');
    return { autobuilds: rows.filter((row) => pullable.has(row.repository)).map((row) => autobuildRow(row, deps.publicUrl(request), full(row.repository))) };
  });

  api.post('/autobuilds/:id/builds', async (request, reply) => {
    const caller = await deps.auth.caller(request);
    const autobuild = await builds.autobuild(parseInput(idParams, request.params, 'params').id);
    deps.auth.require(caller, autobuild.repository, 'push');
    return reply.code(202).send(buildRow(await builds.queue(autobuild, 'api')));
  });

  api.get('/builds', async (request): Promise<{ builds: BuildRow[] } & Paged> => {
    const caller = await deps.auth.caller(request);
    const query = parseInput(buildsQuery, request.query, 'query');
    if (query.repository === undefined) return overall(deps, builds, caller, query);
    const repository = validateRepositoryName(query.repository);
    deps.auth.require(caller, repository, 'pull');
    const rows = await builds.store.listBuilds({ repository, last: query.last, n: query.n });
    return { builds: rows.map(buildRow), next: rows.length === query.n ? rows[rows.length - 1].id : null };
  });

  api.get('/builds/:id', async (request): Promise<BuildRow> => buildRow(await readable(deps, builds, request)));

  api.get('/builds/:id/log', async (request, reply) => {
    const build = await readable(deps, builds, request);
    const { offset } = parseInput(logQuery, request.query, 'query');
    const { stream, next } = await builds.logs.read(build.id, offset);
    // The range streams from the file; a read failure past the headers cuts the answer short (logged).
    const body = new PassThrough();
    if (stream) pipeline(stream, body).catch((err: unknown) => request.log.warn({ err, build: build.id }, 'reading a build log failed'));
    else body.end();
    return reply
      .header('content-type', 'text/plain; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('x-build-state', build.state)
      .header('x-log-next-offset', String(next))
      .header('content-length', String(next - offset))
      .send(body);
  });
}

/** The build the path names, once the caller may pull its repository. */
async function readable(deps: Deps, builds: Builds, request: FastifyRequest): Promise<BuildRecord> {
  const caller = await deps.auth.caller(request);
  const build = await builds.build(parseInput(idParams, request.params, 'params').id);
  deps.auth.require(caller, build.repository, 'pull');
  return build;
}

async function overall(deps: Deps, builds: Builds, caller: Caller, query: { last?: string; n: number }): Promise<{ builds: BuildRow[] } & Paged> {
  const found: BuildRow[] = [];
  let cursor = query.last;
  for (let scanned = 0; scanned < maxScanned;) {
    const rows = await builds.store.listBuilds({ last: cursor, n: 100 });
    const pullable = new Set(deps.auth.pullable(caller, [...new Set(rows.map((row) => row.repository))]));
    for (const row of rows) {
      cursor = row.id;
      scanned++;
      if (pullable.has(row.repository)) found.push(buildRow(row));
      if (found.length === query.n) return { builds: found, next: cursor };
    }
    if (rows.length < 100) return { builds: found, next: null };
  }
  return { builds: found, next: cursor ?? null };
}
