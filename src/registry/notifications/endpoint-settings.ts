import type { Config } from '../../base/config.ts';
import { Fault } from '../../base/fault.ts';
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
  const headers = Object.entries(config.headers).flatMap(([name, value]) => (Array.isArray(value) ? value : [value]).map((v): [string, string] => [name, v]));
  for (const [name, value] of headers) {
    if (/[\r\n\0]/.test(value)) throw new Fault('invalid-argument', `registry.notifications.endpoints (${config.name}): header ${name} has a CR, LF or NUL in its value`);
  }
  const { url, authorization } = splitUserinfo(config.url);
  // Go's client turns the URL's userinfo into Basic auth unless an Authorization header is set; fetch refuses it.
  if (authorization && !headers.some(([name]) => name.toLowerCase() === 'authorization')) headers.unshift(['authorization', authorization]);
  return {
    name: config.name,
    url,
    headers,
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

function splitUserinfo(text: string): { url: string; authorization?: string } {
  const url = new URL(text);
  if (!url.username && !url.password) return { url: text };
  const userinfo = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  url.username = '';
  url.password = '';
  return { url: url.href, authorization: `Basic ${Buffer.from(userinfo).toString('base64')}` };
}

/** A URL for logs and errors: whatever userinfo it carries replaced by `***`. */
export function redactUserinfo(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/?#\s@]*@/gi, '$1***@');
}

function durationMs(text: string): number {
  return Math.round((parseGoDuration(text) ?? 0) / 1e6);
}
