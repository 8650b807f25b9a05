import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ActivityRow, ActivityStore } from '../../meta/activity-store.ts';
import { validateRepositoryName } from '../../oci/reference.ts';
import type { ActivityEvent, ActivityList } from '../../web/api-types.ts';
import { pageSizeQuery } from '../browse/page-query.ts';
import type { Caller, HubAuth } from '../hub-auth.ts';
import type { HubDeps } from '../hub-deps.ts';
import { parseInput } from '../parse-input.ts';

const listQuery = z.strictObject({
  // Beyond any name, so an overlong one reaches the registry's validator and answers its code.
  repository: z.string().max(1024).optional(),
  last: z.string().regex(/^[1-9][0-9]{0,15}$/, 'expected the next of a previous page').optional(),
  n: pageSizeQuery,
});

// The overall list reads rows in chunks and keeps those the caller may pull; a page stops after `maxScanned`
// rows whatever it found (its `next` goes on from there), so a caller who may pull little costs a bounded read.
const chunk = 100;
const maxScanned = 1000;

/** GET /api/v1/activity?repository=&last=&n=: pushes, pulls and deletes, newest first (docs/api.md). */
export function registerActivityRoutes(api: FastifyInstance, deps: Pick<HubDeps, 'auth' | 'stores'>): void {
  api.get('/activity', async (request): Promise<ActivityList> => {
    const caller = await deps.auth.caller(request);
    const query = parseInput(listQuery, request.query, 'query');
    const before = query.last === undefined ? undefined : Number(query.last);
    if (query.repository === undefined) return overall(deps.stores.activity, deps.auth, caller, before, query.n);
    const repository = validateRepositoryName(query.repository);
    deps.auth.require(caller, repository, 'pull');
    const rows = await deps.stores.activity.list({ repository, before, limit: query.n });
    const toEvent = eventsFor(deps.auth, caller);
    return { events: rows.map(toEvent), next: rows.length === query.n ? String(rows[rows.length - 1].id) : null };
  });
}

async function overall(store: ActivityStore, auth: HubAuth, caller: Caller, before: number | undefined, n: number): Promise<ActivityList> {
  const toEvent = eventsFor(auth, caller);
  const events: ActivityEvent[] = [];
  let cursor = before;
  for (let scanned = 0; scanned < maxScanned;) {
    const rows = await store.list({ before: cursor, limit: chunk });
    const pullable = new Set(auth.pullable(caller, [...new Set(rows.map((row) => row.repository))]));
    for (const row of rows) {
      cursor = row.id;
      scanned++;
      if (pullable.has(row.repository)) events.push(toEvent(row));
      if (events.length === n) return { events, next: String(cursor) };
    }
    if (rows.length < chunk) return { events, next: null };
  }
  return { events, next: cursor === undefined ? null : String(cursor) };
}

/**
 * Rows as the caller sees them: who acted is shown to administrators and to those who may push to the row's
 * repository (its maintainers), else it is '' (a puller learns what happened, not who else pulls).
 */
function eventsFor(auth: HubAuth, caller: Caller): (row: ActivityRow) => ActivityEvent {
  const admin = auth.isAdmin(caller);
  const pushers = new Map<string, boolean>();
  const mayPush = (repository: string) => {
    let may = pushers.get(repository);
    if (may === undefined) pushers.set(repository, (may = auth.actions(caller, repository).includes('push')));
    return may;
  };
  return (row) => toEvent(row, admin || mayPush(row.repository) ? row.actor : '');
}

function toEvent(row: ActivityRow, actor: string): ActivityEvent {
  return {
    id: String(row.id),
    at: row.at,
    action: row.action,
    repository: row.repository,
    tag: row.tag ?? null,
    digest: row.digest ?? null,
    actor,
    count: row.count,
  };
}
