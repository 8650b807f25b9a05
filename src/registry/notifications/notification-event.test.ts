import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildEvent, envelopeOf, type EventOrigin, type NotificationEvent } from './notification-event.ts';
import { requestEvents } from './request-events.ts';

const origin: EventOrigin = {
  request: { id: 'req-1', addr: '127.0.0.1:40000', host: 'reg:5000', method: 'PUT', useragent: 'docker/28' },
  actor: { name: 'alice' },
  source: { addr: 'box:5000', instanceID: 'inst' },
};
const digest = `sha256:${'a'.repeat(64)}`;

function collect(): { events: NotificationEvent[]; publish: (e: NotificationEvent) => Promise<void> } {
  const events: NotificationEvent[] = [];
  return { events, publish: async (e) => void events.push(e) };
}

describe('buildEvent', () => {
  test('has distribution\'s fields, length repeating size, empty ones left out', () => {
    const event = buildEvent('push', { mediaType: 'application/x', digest, size: 12, repository: 'a/b', url: 'http://r/v2/a/b/manifests/x', tag: '' }, { ...origin, actor: {} }, { id: 'id-1', timestamp: '2026-01-01T00:00:00.000Z' });
    assert.deepEqual(event, {
      id: 'id-1',
      timestamp: '2026-01-01T00:00:00.000Z',
      action: 'push',
      target: { mediaType: 'application/x', digest, size: 12, length: 12, repository: 'a/b', url: 'http://r/v2/a/b/manifests/x' },
      request: origin.request,
      actor: {},
      source: origin.source,
    });
  });

  test('every event gets its own id', () => {
    const ids = new Set(Array.from({ length: 100 }, () => buildEvent('pull', { repository: 'r' }, origin).id));
    assert.equal(ids.size, 100);
  });

  test('the envelope carries one event', () => {
    const event = buildEvent('pull', { repository: 'r' }, origin);
    assert.deepEqual(JSON.parse(envelopeOf(JSON.stringify(event))), { events: [event] });
  });
});

describe('requestEvents', () => {
  test('a manifest pushed by tag names the tag and a URL by digest', () => {
    const { events, publish } = collect();
    requestEvents(publish, origin, 'http://reg:5000').manifest('push', 'lib/app', { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: 400 }, 'v1');
    assert.equal(events.length, 1);
    assert.deepEqual(events[0].target, {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest,
      size: 400,
      length: 400,
      repository: 'lib/app',
      url: `http://reg:5000/v2/lib/app/manifests/${digest}`,
      tag: 'v1',
    });
    assert.equal(events[0].action, 'push');
    assert.deepEqual(events[0].actor, { name: 'alice' });
  });

  test('by digest there is no tag', () => {
    const { events, publish } = collect();
    requestEvents(publish, origin, '').manifest('pull', 'r', { mediaType: 'm', digest, size: 1 }, digest);
    assert.equal(events[0].target.tag, undefined);
  });

  test('blobs are application/octet-stream; a mount names where from', () => {
    const { events, publish } = collect();
    const bound = requestEvents(publish, origin, 'http://h');
    bound.blob('push', 'r', { digest, size: 5 });
    bound.mounted('s', { digest, size: 5 }, 'r');
    assert.deepEqual(events.map((e) => [e.action, e.target.mediaType, e.target.url, e.target.fromRepository]), [
      ['push', 'application/octet-stream', `http://h/v2/r/blobs/${digest}`, undefined],
      ['mount', 'application/octet-stream', `http://h/v2/s/blobs/${digest}`, 'r'],
    ]);
  });

  test('deletes carry the digest, the tag, or only the repository', () => {
    const { events, publish } = collect();
    const bound = requestEvents(publish, origin, 'http://h');
    bound.deleted('r', digest);
    bound.deleted('r', 'latest');
    bound.deleted('r');
    assert.deepEqual(events.map((e) => e.target), [{ repository: 'r', digest }, { repository: 'r', tag: 'latest' }, { repository: 'r' }]);
    assert.ok(events.every((e) => e.action === 'delete'));
  });
});
