import assert from 'node:assert/strict';
import { test } from 'node:test';
import { digestOf } from './digest.ts';
import { matchV2Route, nextPageLink, v2Routes, v2Urls } from './distribution-routes.ts';

const digest = digestOf('blob');

test('every URL the builders make is matched back to its route with name and parameter', () => {
  const cases: [string, string, string | undefined, string | undefined][] = [
    [v2Urls.base(), 'base', undefined, undefined],
    [v2Urls.catalog(), 'catalog', undefined, undefined],
    [v2Urls.tags('a/b'), 'tags', 'a/b', undefined],
    [v2Urls.manifest('a/b', 'v1'), 'manifest', 'a/b', 'v1'],
    [v2Urls.manifest('a', digest), 'manifest', 'a', digest],
    [v2Urls.uploadStart('a/b/c'), 'uploadStart', 'a/b/c', undefined],
    [v2Urls.upload('a', 'id-1'), 'upload', 'a', 'id-1'],
    [v2Urls.blob('a/b', digest), 'blob', 'a/b', digest],
    [v2Urls.referrers('a', digest), 'referrers', 'a', digest],
  ];
  for (const [url, route, name, param] of cases) {
    const m = matchV2Route(url.split('?')[0]);
    assert.ok(m, url);
    assert.deepEqual([m.route.name, m.name, m.param], [route, name, param], url);
  }
});

test('names that look like route words still match the right route', () => {
  const m = matchV2Route('/v2/blobs/uploads/blobs/uploads/');
  assert.deepEqual([m?.route.name, m?.name], ['uploadStart', 'blobs/uploads']);
  const t = matchV2Route('/v2/manifests/tags/list');
  assert.deepEqual([t?.route.name, t?.name], ['tags', 'manifests']);
  assert.equal(matchV2Route('/v2/a/blobs/uploads')?.route.name, 'uploadStart');
});

test('paths that are no endpoint match nothing', () => {
  for (const path of ['/v2/a/unknown', '/v2/a/manifests/', '/v2/a/manifests/x/y', '/v1/_ping', '/v2/a/tags', '/v2/_catalog/x']) {
    assert.equal(matchV2Route(path), undefined, path);
  }
});

test('query builders: pages, mounts, monolithic uploads, referrer filters', () => {
  assert.equal(v2Urls.tags('a', { n: 2, last: 'b' }), '/v2/a/tags/list?last=b&n=2');
  assert.equal(v2Urls.catalog({ n: 10 }), '/v2/_catalog?n=10');
  assert.equal(v2Urls.mount('a', digest, 'b/c'), `/v2/a/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=b%2Fc`);
  assert.equal(v2Urls.mount('a', digest), `/v2/a/blobs/uploads/?mount=${encodeURIComponent(digest)}`);
  assert.equal(v2Urls.monolithic('a', digest), `/v2/a/blobs/uploads/?digest=${encodeURIComponent(digest)}`);
  assert.equal(v2Urls.uploadFinish('/v2/a/blobs/uploads/x?state=1', digest), `/v2/a/blobs/uploads/x?state=1&digest=${encodeURIComponent(digest)}`);
  assert.equal(v2Urls.referrers('a', digest, 'application/vnd.x+json'), `/v2/a/referrers/${digest}?artifactType=application%2Fvnd.x%2Bjson`);
  assert.equal(nextPageLink('/v2/_catalog?n=1'), '</v2/_catalog?n=1>; rel="next"');
});

test('each route lists the methods it serves', () => {
  const methods = Object.fromEntries(v2Routes.map((r) => [r.name, [...r.methods].sort()]));
  assert.deepEqual(methods.manifest, ['DELETE', 'GET', 'HEAD', 'PUT']);
  assert.deepEqual(methods.upload, ['DELETE', 'GET', 'PATCH', 'PUT']);
  assert.deepEqual(methods.blob, ['DELETE', 'GET', 'HEAD']);
});
