import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { familiarName, familiarReference, formatReference, parseReference, withDefaultTag } from './reference.ts';

describe('parseReference', () => {
  test('a bare name is a Docker Hub official image', () => {
    assert.deepEqual(parseReference('busybox'), { domain: 'docker.io', path: 'library/busybox', tag: undefined, digest: undefined });
  });

  test('a user repository on Docker Hub keeps its path', () => {
    assert.equal(formatReference(withDefaultTag(parseReference('user/app'))), 'docker.io/user/app:latest');
  });

  test('a host with a port is a registry, not a tag', () => {
    const ref = parseReference('localhost:5000/bb:v1');
    assert.equal(ref.domain, 'localhost:5000');
    assert.equal(ref.path, 'bb');
    assert.equal(ref.tag, 'v1');
  });

  test('digests are validated and kept', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    assert.equal(parseReference(`busybox@${digest}`).digest, digest);
    assert.throws(() => parseReference('busybox@sha256:short'), /invalid/);
  });

  test('uppercase repository names are refused with moby wording', () => {
    assert.throws(() => parseReference('BusyBox'), /must be lowercase/);
  });

  test('index.docker.io is normalised to docker.io', () => {
    assert.equal(parseReference('index.docker.io/busybox').path, 'library/busybox');
  });
});

describe('familiar forms', () => {
  test('strip docker.io and library/', () => {
    assert.equal(familiarName('docker.io/library/busybox'), 'busybox');
    assert.equal(familiarName('docker.io/user/app'), 'user/app');
    assert.equal(familiarName('localhost:5000/bb'), 'localhost:5000/bb');
    assert.equal(familiarReference(parseReference('docker.io/library/busybox:1')), 'busybox:1');
  });
});
