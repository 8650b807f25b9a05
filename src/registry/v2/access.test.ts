import assert from 'node:assert/strict';
import { test } from 'node:test';
import { digestOf } from '../../oci/digest.ts';
import { matchV2Route, v2Urls } from '../../oci/distribution-routes.ts';
import { accessFor } from './access.ts';

function needs(method: string, url: string) {
  const match = matchV2Route(url);
  assert.ok(match, url);
  return accessFor(match, method);
}

const repo = (actions: string[]) => [{ type: 'repository', name: 'team/app', actions }];

test('the base endpoint needs no scope; the catalog needs registry:catalog:*', () => {
  assert.deepEqual(needs('GET', '/v2/'), []);
  assert.deepEqual(needs('GET', '/v2/_catalog'), [{ type: 'registry', name: 'catalog', actions: ['*'] }]);
});

test('reads need pull, writes pull+push, deletes delete', () => {
  const digest = digestOf('x');
  for (const [method, url] of [
    ['GET', v2Urls.manifest('team/app', 'v1')],
    ['HEAD', v2Urls.manifest('team/app', 'v1')],
    ['GET', v2Urls.blob('team/app', digest)],
    ['HEAD', v2Urls.blob('team/app', digest)],
    ['GET', v2Urls.tags('team/app')],
    ['GET', v2Urls.referrers('team/app', digest)],
  ]) {
    assert.deepEqual(needs(method, url), repo(['pull']), `${method} ${url}`);
  }
  for (const [method, url] of [
    ['PUT', v2Urls.manifest('team/app', 'v1')],
    ['POST', v2Urls.uploadStart('team/app')],
    ['PATCH', v2Urls.upload('team/app', 'id')],
    ['PUT', v2Urls.upload('team/app', 'id')],
    ['GET', v2Urls.upload('team/app', 'id')],
    ['DELETE', v2Urls.upload('team/app', 'id')],
  ]) {
    assert.deepEqual(needs(method, url), repo(['pull', 'push']), `${method} ${url}`);
  }
  assert.deepEqual(needs('DELETE', v2Urls.manifest('team/app', 'v1')), repo(['delete']));
  assert.deepEqual(needs('DELETE', v2Urls.blob('team/app', digest)), repo(['delete']));
});
