import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatTime, historyCommand, humanSize, pullCommand, shortDigest, timeAgo } from './format.ts';

describe('UI formatting', () => {
  test('sizes in decimal units', () => {
    assert.equal(humanSize(0), '0 B');
    assert.equal(humanSize(999), '999 B');
    assert.equal(humanSize(1000), '1 KB');
    assert.equal(humanSize(1536), '1.54 KB');
    assert.equal(humanSize(12_345_678), '12.3 MB');
    assert.equal(humanSize(123_456_789), '123 MB');
    assert.equal(humanSize(1_230_000_000), '1.23 GB');
    assert.equal(humanSize(5e18), '5000 PB');
    assert.equal(humanSize(-1), '—');
    assert.equal(humanSize(Number.NaN), '—');
  });

  test('short digests keep the algorithm and 12 hex digits', () => {
    assert.equal(shortDigest(`sha256:${'0123456789abcdef'.repeat(4)}`), 'sha256:0123456789ab');
    assert.equal(shortDigest('abcdef0123456789'), 'abcdef012345');
  });

  test('times in UTC to the minute', () => {
    assert.equal(formatTime('2026-12-05T14:03:59.123Z'), '2026-12-05 14:03 UTC');
    assert.equal(formatTime('2026-12-05T15:03:00+01:00'), '2026-12-05 14:03 UTC');
    assert.equal(formatTime('not a date'), 'not a date');
    assert.equal(formatTime(null), '—');
  });

  test('coarse relative times', () => {
    const now = Date.parse('2026-12-05T12:00:00Z');
    assert.equal(timeAgo('2026-12-05T11:59:50Z', now), 'just now');
    assert.equal(timeAgo('2026-12-05T11:59:00Z', now), '1 minute ago');
    assert.equal(timeAgo('2026-12-05T11:55:00Z', now), '5 minutes ago');
    assert.equal(timeAgo('2026-12-05T09:00:00Z', now), '3 hours ago');
    assert.equal(timeAgo('2026-12-02T12:00:00Z', now), '3 days ago');
    assert.equal(timeAgo('2024-12-05T12:00:00Z', now), '2 years ago');
  });

  test('the pull command names host, repository and tag', () => {
    assert.equal(pullCommand('127.0.0.1:5000', 'team/app', 'v1'), 'docker pull 127.0.0.1:5000/team/app:v1');
  });

  test('history commands lose the shell prefix docker build writes', () => {
    assert.equal(historyCommand('/bin/sh -c #(nop)  CMD ["sh"]'), 'CMD ["sh"]');
    assert.equal(historyCommand('/bin/sh -c apk add curl'), 'RUN apk add curl');
    assert.equal(historyCommand('COPY . /app # buildkit'), 'COPY . /app # buildkit');
    assert.equal(historyCommand(undefined), '');
  });
});
