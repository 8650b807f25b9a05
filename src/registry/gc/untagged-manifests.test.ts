import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GcManifest } from '../../meta/gc-index.ts';
import { untaggedManifests } from './untagged-manifests.ts';

const old = '2020-01-01T00:00:00.000Z';
const cutoff = '2024-01-01T00:00:00.000Z';
const m = (digest: string, extra: Partial<GcManifest> = {}): GcManifest => ({ repository: 'r', digest, mediaType: 'x', createdAt: old, tagged: false, ...extra });

test('tagged, recent, children of kept indexes and referrers of kept subjects stay; the rest goes', () => {
  const manifests = [
    m('tagged-index', { tagged: true }),
    m('child'),
    m('grandchild'),
    m('sig-of-child', { subject: 'child' }),
    m('sig-of-sig', { subject: 'sig-of-child' }),
    m('recent', { createdAt: '2025-01-01T00:00:00.000Z' }),
    m('child-of-recent'),
    m('untagged-index'),
    m('orphan-child'),
    m('sig-of-untagged', { subject: 'untagged-index' }),
    m('sig-of-missing', { subject: 'never-pushed' }),
    m('child', { repository: 'other' }),
  ];
  const children = [
    { repository: 'r', parent: 'tagged-index', child: 'child' },
    { repository: 'r', parent: 'child', child: 'grandchild' },
    { repository: 'r', parent: 'recent', child: 'child-of-recent' },
    { repository: 'r', parent: 'untagged-index', child: 'orphan-child' },
  ];
  const gone = untaggedManifests(manifests, children, cutoff).map((x) => `${x.repository}@${x.digest}`);
  assert.deepEqual(gone, ['r@untagged-index', 'r@orphan-child', 'r@sig-of-untagged', 'r@sig-of-missing', 'other@child']);
});
