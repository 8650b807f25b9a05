import type { Config } from '../../base/config.ts';
import { parseGoDuration } from '../../base/go-parse.ts';
import type { EventAction, NotificationEvent } from './notification-event.ts';

export type EndpointConfig = Config['registry']['notifications']['endpoints'][number];

/** An endpoint's config resolved once: durations in ms, headers as pairs, ignore lists as sets. */
export interface EndpointSettings {
  name: string;
  url: string;
  headers: [string, string][];
  timeoutMs: number;
  threshold: number;
  backoffMs: number;
  ignoredMediaTypes: ReadonlySet<string>;
  ignoredActions: ReadonlySet<EventAction>;
  /** 0: no cap. */
  maxQueued: number;
}

export function endpointSettings(config: EndpointConfig): EndpointSettings {
  return {
    name: config.name,
    url: config.url,
    headers: Object.entries(config.headers).flatMap(([name, value]) => (Array.isArray(value) ? value : [value]).map((v): [string, string] => [name, v])),
    // distribution's defaults() turns a zero duration into one second as well.
    timeoutMs: durationMs(config.timeout) || 1000,
    threshold: config.threshold,
    backoffMs: durationMs(config.backoff) || 1000,
    // distribution merges the two lists (ignore.mediatypes and the older ignoredmediatypes).
    ignoredMediaTypes: new Set([...config.ignore.mediaTypes, ...config.ignoredMediaTypes]),
    ignoredActions: new Set(config.ignore.actions),
    maxQueued: config.maxQueued,
  };
}

/** distribution's ignoredSink: an event whose target media type or action is ignored never reaches the queue. */
export function accepts(settings: EndpointSettings, event: NotificationEvent): boolean {
  return !settings.ignoredActions.has(event.action) && !settings.ignoredMediaTypes.has(event.target.mediaType ?? '');
}

function durationMs(text: string): number {
  return Math.round((parseGoDuration(text) ?? 0) / 1e6);
}
