import assert from 'node:assert/strict';
import { test } from 'node:test';
import { routeLabel } from './route-label.ts';

const digest = `sha256:${'a'.repeat(64)}`;

test('v2 paths are labelled with distribution\'s route names, never with names or digests', () => {
  const cases: [string, string][] = [
    ['/v2/', 'base'],
    ['/v2', 'base'],
    ['/v2/_catalog?n=10', 'catalog'],
    ['/v2/team/app/tags/list', 'tags'],
    ['/v2/team/app/manifests/latest', 'manifest'],
    [`/v2/app/manifests/${digest}`, 'manifest'],
    ['/v2/app/blobs/uploads/', 'blob_upload'],
    [`/v2/app/blobs/uploads/?mount=${digest}&from=other`, 'blob_upload'],
    ['/v2/app/blobs/uploads/3f9c-uuid', 'blob_upload_chunk'],
    [`/v2/app/blobs/${digest}`, 'blob'],
    [`/v2/app/referrers/${digest}`, 'referrers'],
    ['/v2/nothing-here', 'v2_unknown'],
  ];
  for (const [url, label] of cases) assert.equal(routeLabel(url, '/metrics'), label, url);
});

test('v1 paths get v1_ labels by image part and repository section', () => {
  const cases: [string, string][] = [
    ['/v1/_ping', 'v1_ping'],
    ['/v1/users/', 'v1_users'],
    ['/v1/users/bob/', 'v1_users'],
    ['/v1/search?q=x', 'v1_search'],
    ['/v1/images/abc123/json', 'v1_image_json'],
    ['/v1/images/abc123/layer', 'v1_image_layer'],
    ['/v1/images/abc123/ancestry', 'v1_image_ancestry'],
    ['/v1/images/abc123/bogus', 'v1_unknown'],
    ['/v1/repositories/team/app/', 'v1_repository'],
    ['/v1/repositories/team/app/images', 'v1_images'],
    ['/v1/repositories/team/app/tags', 'v1_tags'],
    ['/v1/repositories/team/app/tags/latest', 'v1_tag'],
    ['/v1/elsewhere', 'v1_unknown'],
  ];
  for (const [url, label] of cases) assert.equal(routeLabel(url, '/metrics'), label, url);
});

test('the other paths are a fixed set, the metrics path included; anything else is unknown', () => {
  assert.equal(routeLabel('/', '/metrics'), 'root');
  assert.equal(routeLabel('/health', '/metrics'), 'health');
  assert.equal(routeLabel('/auth/token?service=x&scope=repository:a:pull', '/metrics'), 'token');
  assert.equal(routeLabel('/auth/jwks', '/metrics'), 'jwks');
  assert.equal(routeLabel('/debug/metrics', '/debug/metrics'), 'metrics');
  assert.equal(routeLabel('/metrics', '/debug/metrics'), 'unknown');
  assert.equal(routeLabel('/constructor', '/metrics'), 'unknown');
  assert.equal(routeLabel('/wp-admin/../etc/passwd', '/metrics'), 'unknown');
});
