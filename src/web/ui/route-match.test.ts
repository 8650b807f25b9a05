import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildPath, firstMatch, matchPath, safeNext } from './route-match.ts';

describe('UI route matching', () => {
  test('literal paths, with or without the trailing slash', () => {
    assert.deepEqual(matchPath('/ui/', '/ui/'), {});
    assert.deepEqual(matchPath('/ui/', '/ui'), {});
    assert.deepEqual(matchPath('/ui/sign-in', '/ui/sign-in'), {});
    assert.equal(matchPath('/ui/sign-in', '/ui/sign-in/x'), null);
    assert.equal(matchPath('/ui/', '/ui/other'), null);
  });

  test('repository names keep their slashes and are decoded', () => {
    assert.deepEqual(matchPath('/ui/r/:name+', '/ui/r/library/busybox'), { name: 'library/busybox' });
    assert.deepEqual(matchPath('/ui/r/:name+', '/ui/r/a/b/c'), { name: 'a/b/c' });
    assert.equal(matchPath('/ui/r/:name+', '/ui/r/'), null);
    assert.deepEqual(matchPath('/ui/builds/:id', '/ui/builds/ab%20c'), { id: 'ab c' });
    assert.equal(matchPath('/ui/builds/:id', '/ui/builds/a/b'), null);
  });

  test('a manifest path splits at the /-/ marker', () => {
    assert.deepEqual(matchPath('/ui/r/:name+/-/manifest/:reference', '/ui/r/team/app/-/manifest/v1.2'), { name: 'team/app', reference: 'v1.2' });
    assert.deepEqual(matchPath('/ui/r/:name+/-/manifest/:reference', '/ui/r/app/-/manifest/sha256%3Aabc'), { name: 'app', reference: 'sha256:abc' });
    assert.equal(matchPath('/ui/r/:name+/-/manifest/:reference', '/ui/r/app/-/manifest'), null);
  });

  test('a malformed escape matches nothing instead of throwing', () => {
    assert.equal(matchPath('/ui/r/:name+', '/ui/r/%E0%A4%A'), null);
  });

  test('the first matching route wins', () => {
    const routes = [{ path: '/ui/r/:name+/-/manifest/:reference', id: 'manifest' }, { path: '/ui/r/:name+', id: 'repository' }];
    assert.equal(firstMatch(routes, '/ui/r/a/-/manifest/latest')?.route.id, 'manifest');
    assert.equal(firstMatch(routes, '/ui/r/a/b')?.route.id, 'repository');
    assert.equal(firstMatch(routes, '/ui/nothing'), null);
  });

  test('paths are built back with each segment encoded', () => {
    assert.equal(buildPath('/ui/r/:name+', { name: 'team/my app' }), '/ui/r/team/my%20app');
    assert.equal(buildPath('/ui/r/:name+/-/manifest/:reference', { name: 'a/b', reference: 'sha256:ab' }), '/ui/r/a/b/-/manifest/sha256%3Aab');
    assert.equal(buildPath('/ui/', {}), '/ui/');
    assert.throws(() => buildPath('/ui/builds/:id', {}), /missing route parameter id/);
    const name = 'x/y.z_w-1';
    assert.deepEqual(matchPath('/ui/r/:name+', buildPath('/ui/r/:name+', { name })), { name });
  });

  test('sign-in only returns to pages of the app', () => {
    assert.equal(safeNext('/ui/r/a'), '/ui/r/a');
    assert.equal(safeNext(null), '/ui/');
    assert.equal(safeNext('https://evil.example/'), '/ui/');
    assert.equal(safeNext('//evil.example/ui/'), '/ui/');
    assert.equal(safeNext('/ui/\\evil'), '/ui/');
    assert.equal(safeNext('/v2/'), '/ui/');
  });
});
