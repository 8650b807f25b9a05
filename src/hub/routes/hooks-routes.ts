import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { buildRow } from '../builds/builds.ts';
import { readHook } from '../builds/webhook.ts';
import type { HubDeps } from '../hub-deps.ts';
import { parseInput } from '../parse-input.ts';

// Push payloads of large pushes run to a few hundred KiB (GitHub caps its at 25 MB; a push's commits list is cut).
const maxHookBytes = 1024 * 1024;
const params = z.strictObject({ id: z.string().regex(/^[0-9a-f]{16}$/, 'expected 16 hex digits') });

/**
 * POST /api/v1/hooks/:id: a git server's push event queues a build (docs/api.md). In a scope of its own whose
 * parsers keep the raw body, which the signature covers: JSON, or GitHub's form encoding (`payload=`).
 */
export function registerHooksRoutes(api: FastifyInstance, deps: Pick<HubDeps, 'builds' | 'logger'>): void {
  const { builds } = deps;
  api.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(['application/json', 'application/x-www-form-urlencoded'], { parseAs: 'buffer', bodyLimit: maxHookBytes }, (_request, body, done) => done(null, body));
    scope.post('/hooks/:id', async (request, reply) => {
      const autobuild = await builds.autobuild(parseInput(params, request.params, 'params').id);
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const verdict = readHook(request.headers, body, autobuild.secret, autobuild.ref);
      if (!verdict.build) return reply.code(200).send({ ignored: verdict.ignored });
      // A redelivery (or a replay) of a push whose build has not ended yet queues nothing.
      if (await builds.pending(autobuild, verdict.commit)) return reply.code(200).send({ ignored: 'already queued' });
      const build = await builds.queue(autobuild, 'webhook', verdict.commit);
      deps.logger.info({ autobuild: autobuild.id, build: build.id, sender: verdict.sender, commit: verdict.commit }, 'autobuild: push queued a build');
      return reply.code(202).send(buildRow(build));
    });
  });
}
