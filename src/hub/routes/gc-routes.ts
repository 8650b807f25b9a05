import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { GcRunRecord } from '../../meta/gc-run-store.ts';
import type { GcRunRow } from '../../web/api-types.ts';
import type { HubDeps } from '../hub-deps.ts';
import { parseInput } from '../parse-input.ts';

const runBody = z.strictObject({
  dryRun: z.boolean().optional(),
  deleteUntagged: z.boolean().optional(),
});

/**
 * GET /api/v1/gc/runs (admins): the recorded garbage collections, newest first; POST /api/v1/gc/runs (admins): one
 * now, in the background, answered 202 with its running row, 409 while one runs (docs/api.md).
 */
export function registerGcRoutes(api: FastifyInstance, deps: Pick<HubDeps, 'auth' | 'gc'>): void {
  api.get('/gc/runs', async (request): Promise<{ runs: GcRunRow[] }> => {
    deps.auth.requireAdmin(await deps.auth.caller(request));
    return { runs: (await deps.gc.list()).map(toRow) };
  });

  api.post('/gc/runs', async (request, reply) => {
    deps.auth.requireAdmin(await deps.auth.caller(request));
    const body = parseInput(runBody, request.body ?? {}, 'body');
    return reply.code(202).send(toRow(await deps.gc.start(body)));
  });
}

function toRow(run: GcRunRecord): GcRunRow {
  return {
    id: String(run.id),
    trigger: run.trigger,
    dryRun: run.dryRun,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt ?? null,
    state: run.state,
    blobsRemoved: run.blobsRemoved,
    bytesFreed: run.bytesFreed,
    manifestsRemoved: run.manifestsRemoved,
    error: run.error ?? null,
  };
}
