import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Router, type Route } from './router.ts';

const handle: Route['handle'] = async () => ({ status: 204 });
const router = new Router([
  { name: 'image-list', method: 'GET', path: '/images/json', handle },
  { name: 'image-inspect', method: 'GET', path: '/images/{name*}/json', handle },
  { name: 'image-delete', method: 'DELETE', path: '/images/{name*}', handle },
  { name: 'container-inspect', method: 'GET', path: '/containers/{id}/json', handle },
]);

test('image names with slashes and ports match greedily, anchored on the suffix', () => {
  const m = router.match('GET', '/images/localhost:5000/a/b:v1/json');
  assert.equal(m?.route.name, 'image-inspect');
  assert.equal(m?.params.name, 'localhost:5000/a/b:v1');
  assert.equal(router.match('DELETE', '/images/localhost:5000/bb:v1')?.params.name, 'localhost:5000/bb:v1');
});

test('specific routes listed first win', () => {
  assert.equal(router.match('GET', '/images/json')?.route.name, 'image-list');
});

test('params are percent-decoded and HEAD falls back to GET', () => {
  assert.equal(router.match('HEAD', '/containers/a%2Eb/json')?.params.id, 'a.b');
});

test('unknown paths do not match', () => {
  assert.equal(router.match('GET', '/nope'), undefined);
  assert.equal(router.match('POST', '/images/json'), undefined);
});
