import type { FastifyRequest } from 'fastify';
import { v2Urls } from '../../oci/distribution-routes.ts';
import { blobMediaType, buildEvent, type EventAction, type EventOrigin, type EventTarget, type NotificationEvent } from './notification-event.ts';

export interface ManifestDescriptor {
  mediaType: string;
  digest: string;
  size: number;
}

export interface BlobDescriptor {
  digest: string;
  size: number;
}

/**
 * What a handler reports once an operation succeeded; bound to its request (who, from where). Each resolves once
 * the event is queued on disk (a pull's at once): awaited before the answer, a push is never answered unqueued.
 */
export interface RequestEvents {
  /** `reference` is what the path named: a tag lands in the event's `tag`, a digest does not. */
  manifest(action: 'push' | 'pull', repository: string, manifest: ManifestDescriptor, reference: string): Promise<void>;
  blob(action: 'push' | 'pull', repository: string, blob: BlobDescriptor): Promise<void>;
  mounted(repository: string, blob: BlobDescriptor, from?: string): Promise<void>;
  /** A manifest or blob by digest (`what` says a blob's), a tag, or (no reference) a whole repository. */
  deleted(repository: string, reference?: string, what?: 'blob'): Promise<void>;
}

/** Where the routes get a request's RequestEvents; `silentRegistryEvents` when no endpoint is configured. */
export interface RegistryEvents {
  forRequest(request: FastifyRequest, actor?: string): RequestEvents;
}

const silentEvents: RequestEvents = { manifest: async () => {}, blob: async () => {}, mounted: async () => {}, deleted: async () => {} };
export const silentRegistryEvents: RegistryEvents = { forRequest: () => silentEvents };

/** RequestEvents that build each event with the request's origin and hand it to `publish`. */
export function requestEvents(publish: (event: NotificationEvent) => Promise<void>, origin: EventOrigin, baseUrl: string): RequestEvents {
  const emit = (action: EventAction, target: EventTarget) => publish(buildEvent(action, target, origin));
  const blobTarget = (repository: string, blob: BlobDescriptor): EventTarget => ({
    mediaType: blobMediaType,
    digest: blob.digest,
    size: blob.size,
    repository,
    url: baseUrl + v2Urls.blob(repository, blob.digest),
  });
  return {
    manifest: (action, repository, manifest, reference) =>
      emit(action, { ...manifest, repository, url: baseUrl + v2Urls.manifest(repository, manifest.digest), tag: tagIn(reference) }),
    blob: (action, repository, blob) => emit(action, blobTarget(repository, blob)),
    mounted: (repository, blob, from) => emit('mount', { ...blobTarget(repository, blob), fromRepository: from }),
    deleted: (repository, reference) =>
      emit('delete', reference === undefined ? { repository } : { repository, digest: digestIn(reference), tag: tagIn(reference) }),
  };
}

// A digest always holds a ':' (algorithm:hex); a tag never does.
const tagIn = (reference: string) => (reference.includes(':') ? undefined : reference);
const digestIn = (reference: string) => (reference.includes(':') ? reference : undefined);
