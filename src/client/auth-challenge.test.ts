import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAuthChallenge } from './auth-challenge.ts';

test('a Bearer challenge yields its realm, service and scope', () => {
  const c = parseAuthChallenge('Bearer realm="https://auth.example/token",service="registry",scope="repository:a/b:pull"');
  assert.equal(c?.scheme, 'bearer');
  assert.deepEqual(c?.params, { realm: 'https://auth.example/token', service: 'registry', scope: 'repository:a/b:pull' });
});

test('a Basic challenge has a realm', () => {
  assert.deepEqual(parseAuthChallenge('Basic realm="wharf"'), { scheme: 'basic', params: { realm: 'wharf' } });
});

test('no header means no challenge', () => {
  assert.equal(parseAuthChallenge(undefined), undefined);
});
