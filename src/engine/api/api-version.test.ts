import assert from 'node:assert/strict';
import { test } from 'node:test';
import { apiVersion, compareVersions, splitVersion, versionAtLeast } from './api-version.ts';

test('a version prefix is split off; none means the current version', () => {
  assert.deepEqual(splitVersion('/v1.41/containers/json'), { version: '1.41', path: '/containers/json' });
  assert.deepEqual(splitVersion('/_ping'), { version: apiVersion, path: '/_ping' });
});

test('versions outside 1.24..current are refused with moby wording', () => {
  assert.throws(() => splitVersion('/v1.99/info'), /client version 1.99 is too new. Maximum supported API version is/);
  assert.throws(() => splitVersion('/v1.12/info'), /client version 1.12 is too old. Minimum supported API version is 1.24/);
});

test('versions compare part by part as moby does, and any dotted number is a version prefix', () => {
  assert.deepEqual(splitVersion('/v1.24/info'), { version: '1.24', path: '/info' });
  assert.deepEqual(splitVersion('/v1.41.0/info'), { version: '1.41.0', path: '/info' });
  assert.throws(() => splitVersion('/v1/info'), /client version 1 is too old. Minimum supported API version is 1.24/);
  assert.throws(() => splitVersion('/v1.100/info'), /client version 1.100 is too new/);
  assert.equal(compareVersions('1.9', '1.10'), -1);
  assert.equal(compareVersions('1.41', '1.41.0'), 0);
  assert.ok(versionAtLeast('1.44', '1.42') && !versionAtLeast('1.41', '1.42'));
});
