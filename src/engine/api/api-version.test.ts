import assert from 'node:assert/strict';
import { test } from 'node:test';
import { apiVersion, splitVersion } from './api-version.ts';

test('a version prefix is split off; none means the current version', () => {
  assert.deepEqual(splitVersion('/v1.41/containers/json'), { version: '1.41', path: '/containers/json' });
  assert.deepEqual(splitVersion('/_ping'), { version: apiVersion, path: '/_ping' });
});

test('versions outside 1.24..current are refused with moby wording', () => {
  assert.throws(() => splitVersion('/v1.99/info'), /client version 1.99 is too new. Maximum supported API version is/);
  assert.throws(() => splitVersion('/v1.12/info'), /client version 1.12 is too old. Minimum supported API version is 1.24/);
});
