import { z } from 'zod';
import { qBool, qString } from './query-schema.ts';
import type { RouteSchema } from './router.ts';

/** moby httputils.ArchiveFormValues: `path` is required, with badParameterError's text. */
const pathQuery = { path: qString() };
function requirePath<T extends { path?: string }>(query: T, ctx: z.RefinementCtx): void {
  if (!query.path) ctx.addIssue({ code: 'custom', message: 'bad parameter: path cannot be empty', path: ['path'] });
}

/** One schema per archive endpoint (archive-routes.ts), applied by the dispatcher before the handler. */
export const archiveSchemas = {
  stat: { query: z.object(pathQuery).superRefine(requirePath) },
  extract: {
    query: z.object({ ...pathQuery, noOverwriteDirNonDir: qBool(), copyUIDGID: qBool() }).superRefine(requirePath),
  },
  /** POST /containers/{id}/copy: refused for every version this engine accepts, before its body is read. */
  copy: {},
} satisfies Record<string, RouteSchema>;
