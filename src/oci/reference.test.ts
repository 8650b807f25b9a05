import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isFault } from '../base/fault.ts';
import { digestOf } from './digest.ts';
import {
  formatReference,
  isDomain,
  isRepositoryName,
  isTag,
  normalizeDockerReference,
  parseManifestReference,
  parseReference,
  validateRepositoryName,
  validateTag,
} from './reference.ts';

function faultCode(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isFault(err) ? err.code : 'not a fault';
  }
  return undefined;
}

test('repository names follow the distribution grammar and the 255-character limit', () => {
  for (const ok of ['a', 'library/busybox', 'a.b_c__d-e/f--g', 'a0/b1/c2/d3', 'x'.repeat(255), 'a-----b']) assert.ok(isRepositoryName(ok), ok);
  const bad = ['', 'A', 'Upper/case', 'a/../b', '..', '.', 'a/./b', '/a', 'a/', 'a//b', '-a', 'a_', 'a___b', 'a..b', 'a%2fb', 'a b', 'x'.repeat(256)];
  for (const name of bad) assert.ok(!isRepositoryName(name), name);
});

test('invalid names and tags throw invalid-argument with NAME_INVALID and TAG_INVALID', () => {
  assert.equal(faultCode(() => validateRepositoryName('a/../b')), 'NAME_INVALID');
  assert.equal(faultCode(() => validateTag('-dash')), 'TAG_INVALID');
  assert.equal(validateRepositoryName('ok/name'), 'ok/name');
  assert.equal(validateTag('v1'), 'v1');
});

test('tags follow the distribution grammar, 128 characters at most', () => {
  for (const ok of ['latest', 'v1.2_3-rc', '_under', 'A', 'x'.repeat(128)]) assert.ok(isTag(ok), ok);
  for (const bad of ['', '.hidden', '-dash', 'a:b', 'a/b', 'x'.repeat(129)]) assert.ok(!isTag(bad), bad);
});

test('a manifest reference is a digest when it holds a colon, else a tag', () => {
  const digest = digestOf('m');
  assert.deepEqual(parseManifestReference(digest), { digest });
  assert.deepEqual(parseManifestReference('v1'), { tag: 'v1' });
  assert.equal(faultCode(() => parseManifestReference('sha256:abc')), 'DIGEST_INVALID');
  assert.equal(faultCode(() => parseManifestReference('.bad')), 'TAG_INVALID');
});

test('references split into host, name, tag and digest', () => {
  const digest = digestOf('x');
  assert.deepEqual(parseReference(`127.0.0.1:5000/team/app:v1@${digest}`), { domain: '127.0.0.1:5000', name: 'team/app', tag: 'v1', digest });
  assert.deepEqual(parseReference('localhost/app'), { domain: 'localhost', name: 'app', tag: undefined, digest: undefined });
  assert.deepEqual(parseReference('team/app'), { domain: undefined, name: 'team/app', tag: undefined, digest: undefined });
  assert.deepEqual(parseReference('busybox:1.36'), { domain: undefined, name: 'busybox', tag: '1.36', digest: undefined });
  assert.deepEqual(parseReference('Registry.Example.com/a/b'), { domain: 'Registry.Example.com', name: 'a/b', tag: undefined, digest: undefined });
  assert.deepEqual(parseReference('[::1]:5000/app').domain, '[::1]:5000');
});

test('references with a bad digest, tag, host or name are refused with the matching code', () => {
  assert.equal(faultCode(() => parseReference('app@sha256:short')), 'DIGEST_INVALID');
  assert.equal(faultCode(() => parseReference('app:-bad')), 'TAG_INVALID');
  assert.equal(faultCode(() => parseReference('bad_host.com:port/app')), 'NAME_INVALID');
  assert.equal(faultCode(() => parseReference('host.com/Upper')), 'NAME_INVALID');
  assert.equal(faultCode(() => parseReference(`host.com/${'a'.repeat(256)}`)), 'NAME_INVALID');
});

test('host names: labels, IPv4, bracketed IPv6, optional port', () => {
  for (const ok of ['localhost', 'localhost:5000', 'a.b.c', '10.0.0.1:443', '[::1]', '[fe80::1]:5000', 'my-host.example']) assert.ok(isDomain(ok), ok);
  for (const bad of ['-a.com', 'a..b', 'a.com:', 'a.com:123456', 'a_b.com', '']) assert.ok(!isDomain(bad), bad);
});

test('Docker Hub normalisation adds docker.io and library/ for the client side only', () => {
  assert.deepEqual(normalizeDockerReference(parseReference('busybox')), { domain: 'docker.io', name: 'library/busybox', tag: undefined, digest: undefined });
  assert.equal(normalizeDockerReference(parseReference('user/app:1')).name, 'user/app');
  assert.equal(normalizeDockerReference(parseReference('index.docker.io/busybox')).name, 'library/busybox');
  assert.equal(normalizeDockerReference(parseReference('index.docker.io/busybox')).domain, 'docker.io');
  assert.deepEqual(normalizeDockerReference(parseReference('localhost:5000/app')), { domain: 'localhost:5000', name: 'app', tag: undefined, digest: undefined });
  assert.equal(formatReference(normalizeDockerReference(parseReference('busybox:latest'))), 'docker.io/library/busybox:latest');
});
