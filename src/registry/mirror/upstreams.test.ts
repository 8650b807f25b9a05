import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Upstream } from './upstream.ts';
import { Upstreams } from './upstreams.ts';

/** Routes to upstreams that are only a name and a URL: resolving never calls them. */
function upstreamsOf(routes: { prefix: string; url: string }[]): Upstreams {
  return new Upstreams(routes.map(({ prefix, url }) => ({ prefix, upstream: { name: prefix || new URL(url).host, url } as Upstream })));
}

function routed(upstreams: Upstreams, repository: string): [string, string] | undefined {
  const target = upstreams.resolve(repository);
  return target && [target.upstream.name, target.remoteName];
}

describe('Upstreams.resolve', () => {
  const upstreams = upstreamsOf([
    { prefix: '', url: 'http://127.0.0.1:5001' },
    { prefix: 'hub/', url: 'https://registry-1.docker.io' },
    { prefix: 'quay/team/', url: 'https://quay.example' },
    { prefix: 'quay/', url: 'https://quay.io' },
    { prefix: 'index/', url: 'https://index.docker.io/' },
  ]);

  test('the first prefix a name starts with wins, the prefix stripped; the default takes the rest as they are', () => {
    assert.deepEqual(routed(upstreams, 'quay/team/app'), ['quay/team/', 'app']);
    assert.deepEqual(routed(upstreams, 'quay/other/app'), ['quay/', 'other/app']);
    assert.deepEqual(routed(upstreams, 'hub/bitnami/redis'), ['hub/', 'bitnami/redis']);
    assert.deepEqual(routed(upstreams, 'library/busybox'), ['127.0.0.1:5001', 'library/busybox']);
    assert.deepEqual(routed(upstreams, 'hub'), ['127.0.0.1:5001', 'hub'], 'a name equal to a prefix without its slash is not under it');
    assert.deepEqual(routed(upstreams, 'hubble/app'), ['127.0.0.1:5001', 'hubble/app']);
  });

  test('a one-segment name on a Docker Hub host gets library/, elsewhere it is left alone', () => {
    assert.deepEqual(routed(upstreams, 'hub/busybox'), ['hub/', 'library/busybox']);
    assert.deepEqual(routed(upstreams, 'index/alpine'), ['index/', 'library/alpine']);
    assert.deepEqual(routed(upstreams, 'quay/busybox'), ['quay/', 'busybox']);
    assert.deepEqual(routed(upstreams, 'busybox'), ['127.0.0.1:5001', 'busybox']);
  });

  test('the default is tried last, wherever it was listed', () => {
    const upstreams = upstreamsOf([
      { prefix: '', url: 'http://127.0.0.1:5001' },
      { prefix: 'quay/', url: 'https://quay.io' },
    ]);
    assert.deepEqual(upstreams.all.map((u) => u.name), ['quay/', '127.0.0.1:5001']);
  });

  test('without a default, names no prefix matches are not mirrored', () => {
    const some = upstreamsOf([{ prefix: 'hub/', url: 'https://registry-1.docker.io' }]);
    assert.equal(some.enabled, true);
    assert.equal(some.resolve('team/app'), undefined);
    assert.deepEqual(routed(some, 'hub/team/app'), ['hub/', 'team/app']);
    const none = upstreamsOf([]);
    assert.equal(none.enabled, false);
    assert.deepEqual(none.all, []);
    assert.equal(none.resolve('team/app'), undefined);
  });
});
