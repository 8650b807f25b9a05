import { randomUUID } from 'node:crypto';

/** The envelope's media type, as distribution 2.x sends it (`Content-Type` of every POST). */
export const eventsMediaType = 'application/vnd.docker.distribution.events.v1+json';
/** What distribution's blob descriptors carry, so `ignoredMediaTypes: [application/octet-stream]` drops blob events. */
export const blobMediaType = 'application/octet-stream';

export type EventAction = 'push' | 'pull' | 'delete' | 'mount';

/** notifications.Event's target: the descriptor, then where it lives. Empty fields are left out (omitempty). */
export interface EventTarget {
  mediaType?: string;
  digest?: string;
  size?: number;
  length?: number;
  repository: string;
  fromRepository?: string;
  url?: string;
  tag?: string;
}

export interface RequestRecord {
  id: string;
  addr?: string;
  host?: string;
  method: string;
  useragent: string;
}

export interface SourceRecord {
  addr?: string;
  instanceID?: string;
}

/** Who and where an event comes from: the same for every event a request causes. */
export interface EventOrigin {
  request: RequestRecord;
  actor: { name?: string };
  source: SourceRecord;
}

export interface NotificationEvent extends EventOrigin {
  /** Unique per event (a UUID), so a receiver can drop the copies an at-least-once delivery may send. */
  id: string;
  timestamp: string;
  action: EventAction;
  target: EventTarget;
}

export interface EventStamp {
  id: string;
  timestamp: string;
}

const freshStamp = (): EventStamp => ({ id: randomUUID(), timestamp: new Date().toISOString() });

/** One event, fields in distribution's order; `length` repeats `size` as distribution does. */
export function buildEvent(action: EventAction, target: EventTarget, origin: EventOrigin, stamp: EventStamp = freshStamp()): NotificationEvent {
  const { mediaType, digest, size, repository, fromRepository, url, tag } = target;
  const sized = size !== undefined ? { size, length: size } : {};
  return {
    id: stamp.id,
    timestamp: stamp.timestamp,
    action,
    target: dropEmpty({ mediaType, digest, ...sized, repository, fromRepository, url, tag }) as EventTarget,
    request: origin.request,
    actor: dropEmpty(origin.actor),
    source: dropEmpty(origin.source),
  };
}

/** The body of one POST: distribution sends one event per envelope. */
export function envelopeOf(eventJson: string): string {
  return `{"events":[${eventJson}]}`;
}

function dropEmpty<T extends object>(record: T): T {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined && value !== '')) as T;
}
