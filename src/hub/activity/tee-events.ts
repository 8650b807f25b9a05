import { type RegistryEvents, type RequestEvents, silentRegistryEvents } from '../../registry/notifications/request-events.ts';

/**
 * One RegistryEvents that hands every event to each of `parts` (the notifier, the activity log); absent parts are
 * skipped, and a single part is returned as it is (no wrapper on the request's path). Each call resolves when
 * every part's did, so a push is answered only once the notifier queued it.
 */
export function teeEvents(...parts: (RegistryEvents | undefined)[]): RegistryEvents {
  const present = parts.filter((part) => part !== undefined);
  if (present.length === 0) return silentRegistryEvents;
  if (present.length === 1) return present[0];
  return { forRequest: (request, actor) => teeRequestEvents(present.map((part) => part.forRequest(request, actor))) };
}

/** One RequestEvents handing every event to each of `all` (an actor's events on the notifier and the activity log). */
export function teeRequestEvents(all: RequestEvents[]): RequestEvents {
  const each = (call: (events: RequestEvents) => Promise<void>) => Promise.all(all.map(call)).then(() => undefined);
  return {
    manifest: (action, repository, manifest, reference) => each((events) => events.manifest(action, repository, manifest, reference)),
    blob: (action, repository, blob) => each((events) => events.blob(action, repository, blob)),
    mounted: (repository, blob, from) => each((events) => events.mounted(repository, blob, from)),
    deleted: (repository, reference, what) => each((events) => events.deleted(repository, reference, what)),
  };
}

